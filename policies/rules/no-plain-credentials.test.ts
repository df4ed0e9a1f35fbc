import { authBootstrapJob, backupCronJob, changed, statefulSet } from "../test-support/fixtures";
import { FakeResource, runResourcePolicy } from "../test-support/run-policy";
import { noPlainCredentials } from "./no-plain-credentials";

// The SDK's own preview proxy, to show that a value not known yet is still judged (its types are internal).
const { unknownCheckingProxy, unknownStringValue } = require("@pulumi/policy/proxy") as {
    unknownCheckingProxy: <T>(props: T) => T;
    unknownStringValue: string;
};

const SECRET_REF = { secretKeyRef: { name: "apisix-etcd-root", key: "password" } };

/** The bootstrap Job with `variable` added to its container's env. */
const jobWithEnv = (variable: Record<string, unknown>) => changed(authBootstrapJob(), (p) => p.spec.template.spec.containers[0].env.push(variable));

/** The bootstrap Job whose container runs `line` in a shell. */
const jobRunning = (line: string) => changed(authBootstrapJob(), (p) => (p.spec.template.spec.containers[0].command = ["/bin/sh", "-c", line]));

const messages = async (resource: FakeResource) => (await runResourcePolicy(noPlainCredentials, resource)).map((violation) => violation.message);

describe("etcd-no-plain-credentials", () => {
    it("passes the compliant workloads: etcd's token and file settings are no credentials, Secrets are references", async () => {
        for (const resource of [statefulSet(), authBootstrapJob(), backupCronJob()]) {
            expect(await runResourcePolicy(noPlainCredentials, resource)).toEqual([]);
        }
    });

    it.each([
        ["ROOT_PASSWORD", "hunter2"],
        ["ETCDCTL_PASSWORD", "hunter2"],
        ["db_passwd", "hunter2"],
        ["APISIX_ADMIN_SECRET", "s3cr3t"],
        ["GITHUB_TOKEN", "ghp_abc"],
        ["ETCD_CREDENTIALS", "root:x"],
        ["TLS_PRIVATE_KEY", "MHcCAQEEI"],
        ["apiKey", "abc"],
        ["ETCDCTL_USER", "root:hunter2"],
        ["CA_BUNDLE", "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----"],
    ])("blocks %s in a plain value, naming the workload, container and variable", async (name, value) => {
        expect(await runResourcePolicy(noPlainCredentials, jobWithEnv({ name, value }))).toEqual([
            expect.objectContaining({
                enforcementLevel: "mandatory",
                message: `Job apisix-etcd-auth: container "enable-auth" carries a credential in the plain value of ${name}; set it with valueFrom.secretKeyRef.`,
            }),
        ]);
    });

    it.each([
        ["ROOT_PASSWORD", undefined, SECRET_REF],
        ["ROOT_PASSWORD", "", undefined],
        ["ROOT_PASSWORD", "$(ROOT_PASSWORD_FROM_SECRET)", undefined],
        ["ETCDCTL_USER", "root", undefined],
        ["ETCDCTL_USER", "root:$(ROOT_PASSWORD)", undefined],
        ["ROOT_PASSWORD_FILE", "/secrets/root/password", undefined],
        ["TOKEN_PATH", "/var/run/token", undefined],
        ["SECRETS_DIR", "/secrets", undefined],
        ["ETCD_AUTH_TOKEN_TTL", "600", undefined],
        ["ETCD_INITIAL_CLUSTER_TOKEN", "apisix-etcd-headless", undefined],
        ["GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/google/key.json", undefined],
    ])("lets %s through as %j", async (name, value, valueFrom) => {
        expect(await runResourcePolicy(noPlainCredentials, jobWithEnv({ name, value, valueFrom }))).toEqual([]);
    });

    it("blocks a credential whose value is not known yet at preview (a generated password)", async () => {
        const generated = jobWithEnv({ name: "ROOT_PASSWORD", value: unknownStringValue });
        const proxied = { ...generated, props: unknownCheckingProxy(generated.props) };
        expect(await messages(proxied)).toEqual([expect.stringContaining("plain value of ROOT_PASSWORD")]);
    });

    it.each([
        "etcdctl --user=root:hunter2 auth enable",
        "etcdctl --user root:hunter2 auth enable",
        "etcdctl --user root --password=hunter2 auth enable",
        "etcdctl --user root --password hunter2 auth enable",
        "curl --user 'root:hunter2' $ENDPOINT/v3/auth/enable",
    ])("blocks a literal password on the command line: %s", async (line) => {
        const option = /--(user|password)/.exec(line.replace(/--user root --password/, "--password"))![0];
        expect(await messages(jobRunning(line))).toEqual([
            `Job apisix-etcd-auth: container "enable-auth" passes a password with ${option} on its command line; ` +
                "read it from a variable set with valueFrom.secretKeyRef (etcdctl reads ETCDCTL_USER and ETCDCTL_PASSWORD).",
        ]);
    });

    it.each([
        'etcdctl --user "root:$ROOT_PASSWORD" auth enable',
        "etcdctl --user=root:$(ROOT_PASSWORD) auth enable",
        'etcdctl --user root --password="${ROOT_PASSWORD}" auth enable',
        "etcdctl --user root --password --endpoints=$ENDPOINT auth enable",
        "etcdctl --user root auth enable",
    ])("lets references through on the command line: %s", async (line) => {
        expect(await messages(jobRunning(line))).toEqual([]);
    });

    it("blocks a PEM private key on the command line", async () => {
        expect(await messages(jobRunning("printf '%s' '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----' > /tmp/key"))).toEqual([
            expect.stringContaining('container "enable-auth" passes a PEM private key on its command line'),
        ]);
    });

    it.each([
        ["kubernetes:core/v1:Pod", (spec: unknown) => spec],
        ["kubernetes:apps/v1:Deployment", (spec: unknown) => ({ template: { spec } })],
        ["kubernetes:apps/v1:DaemonSet", (spec: unknown) => ({ template: { spec } })],
        ["kubernetes:apps/v1:ReplicaSet", (spec: unknown) => ({ template: { spec } })],
        ["kubernetes:apps/v1:StatefulSet", (spec: unknown) => ({ template: { spec } })],
        ["kubernetes:batch/v1:CronJob", (spec: unknown) => ({ jobTemplate: { spec: { template: { spec } } } })],
    ])("finds the pods of a %s, init containers included", async (type, wrap) => {
        const pod = { initContainers: [{ name: "init", env: [{ name: "ROOT_PASSWORD", value: "hunter2" }] }], containers: [{ name: "main" }] };
        const workload: FakeResource = { type, name: "w", props: { metadata: { name: "w" }, spec: wrap(pod) } };
        expect(await messages(workload)).toEqual([`${type.split(":")[2]} w: container "init" carries a credential in the plain value of ROOT_PASSWORD; set it with valueFrom.secretKeyRef.`]);
    });

    it("ignores what runs no pods, and only advises outside production", async () => {
        const configMap: FakeResource = { type: "kubernetes:core/v1:ConfigMap", props: { data: { ROOT_PASSWORD: "hunter2" } } };
        expect(await runResourcePolicy(noPlainCredentials, configMap)).toEqual([]);
        const plain = jobWithEnv({ name: "ROOT_PASSWORD", value: "hunter2" });
        expect(await runResourcePolicy(noPlainCredentials, plain, { stack: "dev" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory" })]);
    });
});
