import * as pulumi from "@pulumi/pulumi";
import { childrenOf, declareUnderMocks } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { ScheduledVolumeSnapshots, ScheduledVolumeSnapshotsArgs } from "./scheduled-volume-snapshots";
import { VOLUME_SNAPSHOT_SCRIPT } from "./volume-snapshot-script";

const args: ScheduledVolumeSnapshotsArgs = {
    namespace: "etcd",
    name: "apisix-etcd-volume-snapshots",
    claimNames: ["data-apisix-etcd-0", "data-apisix-etcd-1", "data-apisix-etcd-2"],
    snapshotClassName: "apisix-etcd-pd",
    schedule: "43 2 * * *",
    keep: 7,
    image: "alpine/k8s:1.34.1",
    instanceLabels: { "app.kubernetes.io/instance": "apisix-etcd", "app.kubernetes.io/part-of": "apisix" },
};

let resources: RegisteredResource[];
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        new ScheduledVolumeSnapshots("snapshots", args);
        for (const [variant, wrong] of [["no-claims", { claimNames: [] }], ["keep-zero", { keep: 0 }]] as const) {
            try {
                new ScheduledVolumeSnapshots(variant, { ...args, ...wrong });
            } catch (error) {
                expect(error).toBeInstanceOf(pulumi.ResourceError);
                errors.push((error as Error).message);
            }
        }
    });
});

const children = () => childrenOf(resources, "apisix-etcd:index:ScheduledVolumeSnapshots", "snapshots");
const ofKind = (kind: string) => children().filter((r) => r.inputs.kind === kind).map((r) => r.inputs as any);
const cronJob = () => ofKind("CronJob")[0];
const pod = () => cronJob().spec.jobTemplate.spec.template.spec;

test("declares a ServiceAccount, its Role and RoleBinding, a ClusterRole and binding, and the CronJob", () => {
    expect(children().map((r) => r.inputs.kind).sort()).toEqual(["ClusterRole", "ClusterRoleBinding", "CronJob", "Role", "RoleBinding", "ServiceAccount"]);
});

test("the Role allows what the script does with snapshots, and reading the members' claims only", () => {
    const [role] = ofKind("Role");
    expect(role.metadata.namespace).toBe("etcd");
    expect(role.rules).toEqual([
        { apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshots"], verbs: ["create", "get", "list", "watch", "delete"] },
        { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get"], resourceNames: args.claimNames },
    ]);
    const [binding] = ofKind("RoleBinding");
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: args.name });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: args.name, namespace: "etcd" }]);
});

test("cluster-wide, it may only read and patch snapshot contents (to release a retained one it prunes)", () => {
    const [clusterRole] = ofKind("ClusterRole");
    expect(clusterRole.rules).toEqual([{ apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshotcontents"], verbs: ["get", "patch"] }]);
    expect(ofKind("ClusterRoleBinding")[0].subjects).toEqual([{ kind: "ServiceAccount", name: args.name, namespace: "etcd" }]);
});

test("the CronJob runs on schedule in UTC, one run at a time, with bounded retries, deadline and history", () => {
    expect(cronJob().spec).toMatchObject({
        schedule: "43 2 * * *",
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: expect.any(Number),
        successfulJobsHistoryLimit: expect.any(Number),
        failedJobsHistoryLimit: expect.any(Number),
        jobTemplate: { spec: { backoffLimit: 2, activeDeadlineSeconds: expect.any(Number) } },
    });
});

test("the pod runs the snapshot script with its settings, as the ServiceAccount, under the restricted profile", () => {
    const [container] = pod().containers;
    expect(pod()).toMatchObject({
        serviceAccountName: args.name,
        restartPolicy: "Never",
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    });
    expect(container.image).toBe(args.image);
    expect(container.command).toEqual(["/bin/sh", "-c", VOLUME_SNAPSHOT_SCRIPT]);
    const env = Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({ CLAIMS: args.claimNames.join(" "), SNAPSHOT_CLASS: "apisix-etcd-pd", KEEP: "7" });
    expect(container.env).toContainEqual({ name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
});

test("every object and pod carries the instance labels", () => {
    for (const metadata of [...children().map((r) => r.inputs.metadata as any), cronJob().spec.jobTemplate.spec.template.metadata]) {
        expect(metadata.labels).toMatchObject(args.instanceLabels);
    }
});

test("refuses to snapshot no claim, or to keep none", () => {
    expect(errors).toEqual([expect.stringMatching(/claimNames/), expect.stringMatching(/keep must be a positive integer, got 0/)]);
});
