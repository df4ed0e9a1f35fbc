import { execFileSync } from "child_process";
import { childrenOf, declareUnderMocks } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../security-context";
import { DEFRAG_SCRIPT } from "./defrag-script";
import { EtcdDefragmentation, EtcdDefragmentationArgs } from "./etcd-defragmentation";

const instanceLabels = { "app.kubernetes.io/instance": "apisix-etcd", "app.kubernetes.io/part-of": "apisix" };
const args: EtcdDefragmentationArgs = {
    namespace: "etcd",
    name: "apisix-etcd-defrag",
    memberClientUrls: [0, 1, 2].map((i) => `http://apisix-etcd-${i}.apisix-etcd-headless.etcd.svc.cluster.local:2379`),
    schedule: "37 4 * * 0",
    image: "alpine/k8s:1.34.1",
    instanceLabels,
    backupJobLabels: { ...instanceLabels, "app.kubernetes.io/component": "backup" },
    access: { userSecretName: "apisix-etcd-user-defrag", caSecretName: "apisix-etcd-tls" },
};

let resources: RegisteredResource[];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        new EtcdDefragmentation("defrag", args);
        new EtcdDefragmentation("no-backups", { ...args, name: "no-backups", backupJobLabels: undefined });
    });
});

const ofKind = (name: string, kind: string) =>
    childrenOf(resources, "apisix-etcd:index:EtcdDefragmentation", name)
        .filter((r) => r.inputs.kind === kind)
        .map((r) => r.inputs as any);
const kinds = (name: string) => childrenOf(resources, "apisix-etcd:index:EtcdDefragmentation", name).map((r) => r.inputs.kind).sort();
const cronJob = (name = "defrag") => ofKind(name, "CronJob")[0];
const pod = (name = "defrag") => cronJob(name).spec.jobTemplate.spec.template.spec;
const env = (name = "defrag") => Object.fromEntries(pod(name).containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));

test("declares a ServiceAccount, a Role with get/list on jobs only, its RoleBinding, and the CronJob", () => {
    expect(kinds("defrag")).toEqual(["CronJob", "Role", "RoleBinding", "ServiceAccount"]);
    const [role] = ofKind("defrag", "Role");
    expect(role.metadata.namespace).toBe("etcd");
    expect(role.rules).toEqual([{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list"] }]);
    const [binding] = ofKind("defrag", "RoleBinding");
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: args.name });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: args.name, namespace: "etcd" }]);
});

test("without backups it has no Role and its pods get no API token", () => {
    expect(kinds("no-backups")).toEqual(["CronJob", "ServiceAccount"]);
    expect(ofKind("no-backups", "ServiceAccount")[0].automountServiceAccountToken).toBe(false);
    expect(env("no-backups").BACKUP_SELECTOR).toBeUndefined();
});

test("the CronJob runs one at a time, bounded, on the schedule, with pods that reach the members", () => {
    const spec = cronJob().spec;
    expect(spec).toMatchObject({ schedule: "37 4 * * 0", timeZone: "Etc/UTC", concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 5 });
    expect(spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 3600 });
    // The instance labels are what the members' NetworkPolicy lets through to 2379.
    expect(spec.jobTemplate.spec.template.metadata.labels).toMatchObject(instanceLabels);
    expect(spec.jobTemplate.spec.template.metadata.labels["app.kubernetes.io/component"]).toBe("defrag");
});

test("the pod is restricted, runs the script in the kubectl image, and mounts only a writable /tmp and the CA", () => {
    expect(pod()).toMatchObject({ restartPolicy: "Never", securityContext: restrictedPodSecurityContext, serviceAccountName: args.name });
    const [container] = pod().containers;
    expect(pod().initContainers).toBeUndefined();
    expect(container).toMatchObject({ image: "alpine/k8s:1.34.1", command: ["/bin/sh", "-c", DEFRAG_SCRIPT], securityContext: restrictedContainerSecurityContext });
    expect(container.resources.limits.memory).toBeDefined();
    expect(container.volumeMounts).toEqual([
        { name: "tmp", mountPath: "/tmp" },
        { name: "etcd-ca", mountPath: "/etc/etcd-ca", readOnly: true },
    ]);
    expect(pod().volumes).toContainEqual({ name: "etcd-ca", secret: { secretName: "apisix-etcd-tls", items: [{ key: "ca.crt", path: "ca.crt" }] } });
});

test("the script authenticates as the defragmentation user, whose name and password come from its Secret", () => {
    const refs = Object.fromEntries(pod().containers[0].env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef]));
    expect(refs).toEqual({
        ETCD_USER: { name: "apisix-etcd-user-defrag", key: "username" },
        ETCD_PASSWORD: { name: "apisix-etcd-user-defrag", key: "password" },
    });
});

test("the script gets every member's URL, the backup Jobs' selector and its timeouts", () => {
    expect(env()).toEqual({
        MEMBERS: (args.memberClientUrls as string[]).join(" "),
        NAMESPACE: "etcd",
        BACKUP_SELECTOR: "app.kubernetes.io/instance=apisix-etcd,app.kubernetes.io/part-of=apisix,app.kubernetes.io/component=backup",
        DEFRAG_TIMEOUT: "600",
        HEALTH_TIMEOUT: "120",
        CACERT: "/etc/etcd-ca/ca.crt",
        ETCD_USER: undefined,
        ETCD_PASSWORD: undefined,
        HOME: "/tmp",
    });
});

test("the script is valid POSIX sh and skips with exit 0 when no member answers", () => {
    execFileSync("sh", ["-n", "-c", DEFRAG_SCRIPT]);
    // A closed port on loopback: the first check fails before anything is defragmented.
    const out = execFileSync("sh", ["-c", DEFRAG_SCRIPT], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, MEMBERS: "http://127.0.0.1:9", NAMESPACE: "etcd", DEFRAG_TIMEOUT: "5", HEALTH_TIMEOUT: "5" },
    });
    expect(out).toMatch(/SKIP: member http:\/\/127\.0\.0\.1:9 is not healthy \(\/health answered 000\); defragmented: none\n$/);
});
