import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { scriptPod } from "../script-pod";
import { scheduledJobLabels, scheduledJobSpec } from "../scheduled-job";
import { VOLUME_SNAPSHOT_SCRIPT } from "./volume-snapshot-script";

export interface ScheduledVolumeSnapshotsArgs {
    /** Namespace of the claims, where the snapshots, the CronJob and its ServiceAccount live. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the CronJob, its ServiceAccount and roles. */
    readonly name: string;
    /** The PersistentVolumeClaims to snapshot, e.g. `data-apisix-etcd-0`. */
    readonly claimNames: readonly string[];
    /** The VolumeSnapshotClass the snapshots are taken with. */
    readonly snapshotClassName: pulumi.Input<string>;
    /** Cron schedule, in UTC. */
    readonly schedule: string;
    /** How many snapshots of each claim to keep, the newest. */
    readonly keep: number;
    /** An image with a POSIX shell and kubectl. */
    readonly image: string;
    /** Labels that every pod of the stack carries. */
    readonly instanceLabels: Readonly<Record<string, string>>;
}

/** The label that says which claim a VolumeSnapshot was taken of; pruning counts per claim. */
const CLAIM_LABEL = "apisix-etcd/claim";

/** How long a run waits for its snapshots to be ready to use (a disk snapshot takes minutes). */
const READY_TIMEOUT = "20m";

/**
 * Scheduled CSI snapshots of the members' volumes: a CronJob that takes one VolumeSnapshot of every
 * claim and keeps the newest `keep` of each, with a ServiceAccount that may do that and nothing else.
 */
export class ScheduledVolumeSnapshots extends pulumi.ComponentResource {
    constructor(name: string, args: ScheduledVolumeSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:ScheduledVolumeSnapshots", name, {}, opts);
        if (args.claimNames.length === 0) {
            throw new pulumi.ResourceError("claimNames must name at least one PersistentVolumeClaim", this);
        }
        if (!Number.isInteger(args.keep) || args.keep < 1) {
            throw new pulumi.ResourceError(`keep must be a positive integer, got ${args.keep}`, this);
        }
        const labels = scheduledJobLabels(args.instanceLabels, "volume-snapshots");
        const metadata = { name: args.name, namespace: args.namespace, labels };

        const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata }, { parent: this });
        const subjects = [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: serviceAccount.metadata.namespace }];
        const role = new k8s.rbac.v1.Role(
            name,
            {
                metadata,
                rules: [
                    {
                        apiGroups: ["snapshot.storage.k8s.io"],
                        resources: ["volumesnapshots"],
                        // get and watch: `kubectl wait` for readiness; list: pruning.
                        verbs: ["create", "get", "list", "watch", "delete"],
                    },
                    // Only to fail clearly when a member's claim is missing, and only the members' claims.
                    { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get"], resourceNames: [...args.claimNames] },
                ],
            },
            { parent: this },
        );
        new k8s.rbac.v1.RoleBinding(
            name,
            { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name }, subjects },
            { parent: this },
        );
        // VolumeSnapshotContents are cluster-scoped: pruning must mark a retained content for deletion.
        const contentRole = new k8s.rbac.v1.ClusterRole(
            name,
            {
                metadata: { name: args.name, labels },
                rules: [{ apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshotcontents"], verbs: ["get", "patch"] }],
            },
            { parent: this },
        );
        new k8s.rbac.v1.ClusterRoleBinding(
            name,
            {
                metadata: { name: args.name, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: contentRole.metadata.name },
                subjects,
            },
            { parent: this },
        );

        new k8s.batch.v1.CronJob(
            name,
            {
                metadata,
                spec: scheduledJobSpec({
                    schedule: args.schedule,
                    labels,
                    activeDeadlineSeconds: 3600,
                    pod: scriptPod({
                        serviceAccountName: serviceAccount.metadata.name,
                        name: "volume-snapshots",
                        image: args.image,
                        script: VOLUME_SNAPSHOT_SCRIPT,
                        env: [
                            { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                            { name: "CLAIMS", value: args.claimNames.join(" ") },
                            { name: "CLAIM_LABEL", value: CLAIM_LABEL },
                            { name: "SNAPSHOT_CLASS", value: args.snapshotClassName },
                            { name: "KEEP", value: String(args.keep) },
                            { name: "READY_TIMEOUT", value: READY_TIMEOUT },
                        ],
                        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                    }),
                }),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
