import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { scheduledJobLabels, scheduledJobSpec } from "../scheduled-job";
import { backupPodSpec, BackupStepsArgs } from "./backup-steps";

export interface BackupCronJobArgs extends BackupStepsArgs {
    /** Namespace of the CronJob and its ServiceAccount: the cluster's. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the CronJob. */
    readonly name: string;
    /** Name of the ServiceAccount the runs use, which the bucket lets upload. */
    readonly serviceAccountName: string;
    /** Annotations of that ServiceAccount: the Workload Identity binding to the bucket's writer. */
    readonly serviceAccountAnnotations: pulumi.Input<Record<string, string>>;
    /** Cron schedule, in UTC. */
    readonly schedule: string;
    /** Labels that every pod of the stack carries; they let the runs reach the members' client port. */
    readonly instanceLabels: Readonly<Record<string, string>>;
}

/** The scheduled backup of the etcd cluster to GCS: snapshot, verify, upload (see backup-steps.ts). */
export class BackupCronJob extends pulumi.ComponentResource {
    /** Labels of the backup Jobs and their pods (what the defragmentation checks for active backups by). */
    public readonly jobLabels: Readonly<Record<string, string>>;

    constructor(name: string, args: BackupCronJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:BackupCronJob", name, {}, opts);
        if (!Number.isInteger(args.maxDatabaseBytes) || args.maxDatabaseBytes <= 0) {
            throw new pulumi.ResourceError(`maxDatabaseBytes must be a positive integer, got ${args.maxDatabaseBytes}`, this);
        }
        const labels = scheduledJobLabels(args.instanceLabels, "backup");
        this.jobLabels = labels;
        // No Kubernetes token in the pods: they never call the API, and GKE's metadata server hands out
        // the Google tokens by the pod's identity, not by a token the pod holds.
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            name,
            {
                metadata: { name: args.serviceAccountName, namespace: args.namespace, labels, annotations: args.serviceAccountAnnotations },
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        new k8s.batch.v1.CronJob(
            name,
            {
                metadata: { name: args.name, namespace: args.namespace, labels },
                spec: scheduledJobSpec({
                    schedule: args.schedule,
                    labels,
                    activeDeadlineSeconds: 1800,
                    pod: { serviceAccountName: serviceAccount.metadata.name, ...backupPodSpec(args) },
                }),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
