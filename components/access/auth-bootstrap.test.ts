import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childrenOf, declareUnderMocks } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { restrictedContainerSecurityContext } from "../security-context";
import { AuthBootstrap, AuthBootstrapArgs, prefixRangeEnd, rolesSpec } from "./auth-bootstrap";
import { AUTH_BOOTSTRAP_SCRIPT } from "./auth-bootstrap-script";

const instanceLabels = { "app.kubernetes.io/instance": "kv", "app.kubernetes.io/part-of": "apisix" };
const args = (members: pulumi.Resource): AuthBootstrapArgs => ({
    namespace: "etcd",
    name: "kv-auth",
    image: "alpine/k8s:1.34.1",
    schedule: "29 * * * *",
    endpoint: "https://kv.etcd.svc.cluster.local:2379",
    access: { caSecretName: "kv-tls", userSecretName: "kv-user-root" },
    roles: [{ name: "apisix", permissions: [{ type: "READWRITE", prefix: "/apisix" }] }],
    users: [
        { name: "apisix", secretName: "kv-user-apisix", roles: ["apisix"] },
        { name: "backup", secretName: "kv-user-backup", roles: ["root"] },
    ],
    passwordsDigest: "d1",
    members,
    instanceLabels,
});

let resources: RegisteredResource[];
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        const members = new k8s.core.v1.ConfigMap("members", {});
        new AuthBootstrap("auth", args(members));
        new AuthBootstrap("restored", { ...args(members), restoreSource: "gs://kv-backups/etcd/2026/kv-20260101T001700Z.db" });
        try {
            new AuthBootstrap("bad", { ...args(members), users: [{ name: "Root User", secretName: "x", roles: [] }] });
        } catch (error) {
            expect(error).toBeInstanceOf(pulumi.ResourceError);
            errors.push((error as Error).message);
        }
    });
});

const children = () => childrenOf(resources, "apisix-etcd:index:AuthBootstrap", "auth");
const ofKind = (kind: string) => children().find((r) => r.inputs.kind === kind)!;
const jobPod = () => (ofKind("Job").inputs as any).spec.template;
const envOf = (pod: any) => pod.spec.containers[0].env as { name: string; value?: string; valueFrom?: any }[];

test("prefix permissions end where the prefix's keys end", () => {
    expect(prefixRangeEnd("/apisix").toString()).toBe("/apisiy");
    expect(prefixRangeEnd("/é").equals(Buffer.from([0x2f, 0xc3, 0xaa]))).toBe(true);
    expect(() => prefixRangeEnd("")).toThrow(/no range end/);
    expect(rolesSpec(args(undefined as never).roles)).toBe(`apisix READWRITE ${Buffer.from("/apisix").toString("base64")} ${Buffer.from("/apisiy").toString("base64")}`);
});

test("a Job runs the script once the members exist, and a new password digest replaces it", () => {
    const job = ofKind("Job");
    const members = resources.find((r) => r.name === "members")!;
    expect(job.options.dependsOn).toContain(members.urn);
    expect(job.options.deleteBeforeReplace).toBe(true);
    expect(jobPod().metadata.annotations).toEqual({ "apisix-etcd/passwords-digest": "d1" });
    expect(jobPod().spec.containers[0]).toMatchObject({ image: "alpine/k8s:1.34.1", command: ["/bin/sh", "-c", AUTH_BOOTSTRAP_SCRIPT], securityContext: restrictedContainerSecurityContext });
});

test("while a restore is configured, the Job's template names its source: a new source (or none) replaces the Job, which runs again", () => {
    const restored = childrenOf(resources, "apisix-etcd:index:AuthBootstrap", "restored").find((r) => r.inputs.kind === "Job")!;
    expect((restored.inputs as any).spec.template.metadata.annotations).toEqual({
        "apisix-etcd/passwords-digest": "d1",
        "apisix-etcd/restore-from": "gs://kv-backups/etcd/2026/kv-20260101T001700Z.db",
    });
    expect(restored.options.deleteBeforeReplace).toBe(true);
    // The CronJob's runs are the same with or without a restore.
    const cronOf = (name: string) => (childrenOf(resources, "apisix-etcd:index:AuthBootstrap", name).find((r) => r.inputs.kind === "CronJob")!.inputs as any).spec.jobTemplate.spec.template;
    expect(cronOf("restored")).toEqual(cronOf("auth"));
});

test("the CronJob converges the same way on its schedule", () => {
    const cron = ofKind("CronJob").inputs as any;
    expect(cron.spec).toMatchObject({ schedule: "29 * * * *", concurrencyPolicy: "Forbid" });
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].env).toEqual(envOf(jobPod()));
});

test("every password comes from a Secret, none is a plain value; root's old one only while an operator provides it", () => {
    const env = envOf(jobPod());
    const fromSecret = Object.fromEntries(env.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom.secretKeyRef]));
    expect(fromSecret).toEqual({
        ROOT_PASSWORD: { name: "kv-user-root", key: "password" },
        ROOT_PREVIOUS_PASSWORD: { name: "kv-user-root-previous", key: "password", optional: true },
        PASSWORD_APISIX: { name: "kv-user-apisix", key: "password" },
        PASSWORD_BACKUP: { name: "kv-user-backup", key: "password" },
    });
    const plain = Object.fromEntries(env.filter((e) => !e.valueFrom).map((e) => [e.name, e.value]));
    expect(plain).toMatchObject({ ENDPOINT: "https://kv.etcd.svc.cluster.local:2379", CACERT: "/etc/etcd-ca/ca.crt", USERS: "apisix PASSWORD_APISIX apisix\nbackup PASSWORD_BACKUP root" });
});

test("its pods get no Kubernetes token, only the CA of the members' Secret, and the labels the NetworkPolicy admits", () => {
    const serviceAccount = ofKind("ServiceAccount").inputs as any;
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    expect(jobPod().spec.volumes).toContainEqual({ name: "etcd-ca", secret: { secretName: "kv-tls", items: [{ key: "ca.crt", path: "ca.crt" }] } });
    expect(jobPod().metadata.labels).toMatchObject(instanceLabels);
});

test("refuses user names the script cannot carry", () => {
    expect(errors).toEqual([expect.stringContaining("user names must be distinct lower-case words, got Root User")]);
});
