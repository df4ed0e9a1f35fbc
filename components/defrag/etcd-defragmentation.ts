import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CA_FILE, caMounts, caVolumes, EtcdClientAccess, userEnvironment } from "../access/etcd-client-access";
import { scriptPod } from "../script-pod";
import { scheduledJobLabels, scheduledJobSpec } from "../scheduled-job";
import { DEFRAG_SCRIPT } from "./defrag-script";

export interface EtcdDefragmentationArgs {
    /** Namespace of the cluster, where the CronJob, its ServiceAccount and Role live. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the CronJob, its ServiceAccount, Role and RoleBinding. */
    readonly name: string;
    /** Every member's client URL (not the client Service's): each is defragmented on its own. */
    readonly memberClientUrls: pulumi.Input<pulumi.Input<string>[]>;
    /** Cron schedule, in UTC; keep it well away from the backups'. */
    readonly schedule: string;
    /** An image with a POSIX shell, curl and kubectl (the members' image has no shell). */
    readonly image: string;
    /** Labels that every pod of the stack carries; they let the runs reach the members' client port. */
    readonly instanceLabels: Readonly<Record<string, string>>;
    /** Labels of the backup Jobs: a run skips while one of them is active. Unset: there are no backups. */
    readonly backupJobLabels?: Readonly<Record<string, string>>;
    /** The etcd user that defragments, and the CA of the members. */
    readonly access: EtcdClientAccess;
}

/** How long one member's defragmentation may take: it rewrites the whole database (at most the quota). */
const DEFRAG_TIMEOUT_SECONDS = 600;
/** How long the cluster may take to be healthy again after one member's defragmentation. */
const HEALTH_TIMEOUT_SECONDS = 120;

/** `k=v,k=v`: a label selector for exactly these labels. */
const selectorOf = (labels: Readonly<Record<string, string>>): string =>
    Object.entries(labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(",");

/**
 * Scheduled defragmentation of the members (the script is in defrag-script.ts): one member at a
 * time, the leader last, only while the cluster is healthy and no backup runs. Its ServiceAccount may
 * only read Jobs in the namespace, to see the backups'; with no backups it gets no API token at all.
 */
export class EtcdDefragmentation extends pulumi.ComponentResource {
    constructor(name: string, args: EtcdDefragmentationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:EtcdDefragmentation", name, {}, opts);
        const labels = scheduledJobLabels(args.instanceLabels, "defrag");
        const metadata = { name: args.name, namespace: args.namespace, labels };
        const watchesBackups = args.backupJobLabels !== undefined && Object.keys(args.backupJobLabels).length > 0;

        const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata, automountServiceAccountToken: watchesBackups }, { parent: this });
        if (watchesBackups) {
            const role = new k8s.rbac.v1.Role(
                name,
                // list: `kubectl get jobs --selector`; get: the same for a single Job. Nothing else.
                { metadata, rules: [{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list"] }] },
                { parent: this },
            );
            new k8s.rbac.v1.RoleBinding(
                name,
                {
                    metadata,
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                    subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: serviceAccount.metadata.namespace }],
                },
                { parent: this },
            );
        }

        const members = pulumi.output(args.memberClientUrls).apply((urls) => {
            if (urls.length === 0) throw new pulumi.ResourceError("memberClientUrls must name at least one member", this);
            return urls.join(" ");
        });
        new k8s.batch.v1.CronJob(
            name,
            {
                metadata,
                spec: scheduledJobSpec({
                    schedule: args.schedule,
                    labels,
                    // Every member at its longest, plus the checks between them.
                    activeDeadlineSeconds: 3600,
                    pod: scriptPod({
                        serviceAccountName: serviceAccount.metadata.name,
                        name: "defrag",
                        image: args.image,
                        script: DEFRAG_SCRIPT,
                        env: [
                            { name: "MEMBERS", value: members },
                            { name: "NAMESPACE", value: args.namespace },
                            ...(watchesBackups ? [{ name: "BACKUP_SELECTOR", value: selectorOf(args.backupJobLabels!) }] : []),
                            { name: "DEFRAG_TIMEOUT", value: String(DEFRAG_TIMEOUT_SECONDS) },
                            { name: "HEALTH_TIMEOUT", value: String(HEALTH_TIMEOUT_SECONDS) },
                            ...(args.access.caSecretName === undefined ? [] : [{ name: "CACERT", value: CA_FILE }]),
                            ...userEnvironment(args.access, { user: "ETCD_USER", password: "ETCD_PASSWORD" }),
                        ],
                        resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                        volumes: caVolumes(args.access),
                        volumeMounts: caMounts(args.access),
                    }),
                }),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
