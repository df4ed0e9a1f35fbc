import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { childrenOf, declareUnderMocks, valueOf } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { EtcdCredentials, EtcdCredentialsArgs } from "./etcd-credentials";

const args: EtcdCredentialsArgs = {
    namespace: "etcd",
    name: "kv",
    tokenKeySecretName: "kv-token-key",
    jobUsers: ["backup", "defrag"],
    apisix: { user: "apisix", namespace: "gateway", secretName: "kv-credentials", clientUrl: "https://kv.etcd.svc.cluster.local:2379", prefix: "/apisix", caCertificate: "CA PEM" },
    labels: { "app.kubernetes.io/instance": "kv" },
};

const isSecret = (value: unknown) => typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;

let resources: RegisteredResource[];
let credentials: EtcdCredentials;
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        credentials = new EtcdCredentials("creds", args);
        try {
            new EtcdCredentials("twice", { ...args, jobUsers: ["apisix"] });
        } catch (error) {
            expect(error).toBeInstanceOf(pulumi.ResourceError);
            errors.push((error as Error).message);
        }
    });
});

const secrets = () => childrenOf(resources, "apisix-etcd:index:EtcdCredentials", "creds").filter((r) => r.type === "kubernetes:core/v1:Secret");
const secretNamed = (name: string) => secrets().find((r) => (r.inputs.metadata as { name: string }).name === name)!;

test("one Secret per user in the members' namespace, and APISIX's in its own", () => {
    expect(secrets().map((r) => `${(r.inputs.metadata as any).namespace}/${(r.inputs.metadata as any).name}`).sort()).toEqual([
        "etcd/kv-token-key",
        "etcd/kv-user-apisix",
        "etcd/kv-user-backup",
        "etcd/kv-user-defrag",
        "etcd/kv-user-root",
        "gateway/kv-credentials",
    ]);
    expect(credentials.userSecretNames).toEqual({ root: "kv-user-root", apisix: "kv-user-apisix", backup: "kv-user-backup", defrag: "kv-user-defrag" });
});

test("every password is generated, letters and digits only, and reaches the plan only as a secret", () => {
    const passwords = childrenOf(resources, "apisix-etcd:index:EtcdCredentials", "creds").filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    expect(passwords).toHaveLength(4);
    for (const password of passwords) expect(password.inputs).toMatchObject({ length: 32, special: false });
    for (const secret of secrets()) expect(isSecret(secret.inputs.stringData)).toBe(true);
});

test("APISIX's Secret holds what its config needs, and its password equals its etcd user's", async () => {
    const data = (name: string) => (secretNamed(name).inputs.stringData as { value: Record<string, string> }).value;
    expect(data("kv-credentials")).toMatchObject({ host: args.apisix.clientUrl, prefix: "/apisix", username: "apisix", "ca.crt": "CA PEM" });
    expect(data("kv-credentials").password).toBe(data("kv-user-apisix").password);
    expect(await valueOf(credentials.apisixPassword)).toBe(data("kv-user-apisix").password);
    expect(await pulumi.isSecret(credentials.apisixPassword)).toBe(true);
    expect(data("kv-user-backup").username).toBe("backup");
});

test("the token key pair goes to the members' Secret under the names they mount", () => {
    expect(Object.keys((secretNamed("kv-token-key").inputs.stringData as { value: object }).value).sort()).toEqual(["jwt.key", "jwt.pub"]);
    const key = childrenOf(resources, "apisix-etcd:index:EtcdCredentials", "creds").find((r) => r.type === "tls:index/privateKey:PrivateKey")!;
    expect(key.inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
});

test("the digest changes with the passwords and reveals none of them", async () => {
    const digest = await valueOf(credentials.passwordsDigest);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const passwords = await Promise.all(secrets().map((r) => (r.inputs.stringData as { value: Record<string, string> }).value.password).filter(Boolean));
    for (const password of passwords) expect(digest).not.toContain(password);
    let fewer: EtcdCredentials | undefined;
    await declareUnderMocks(() => (fewer = new EtcdCredentials("creds", { ...args, jobUsers: ["backup"] })));
    expect(await valueOf(fewer!.passwordsDigest)).not.toBe(digest);
});

test("refuses two users of one name", () => {
    expect(errors).toEqual([expect.stringContaining("user names must be distinct, got root, apisix, apisix")]);
});
