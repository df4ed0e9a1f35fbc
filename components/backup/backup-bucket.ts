// The service modules alone: the package index would make tsc read the whole provider (860k lines of typings).
import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import { BucketWorkloadIdentity } from "./bucket-workload-identity";

export interface BackupBucketArgs {
    /** GCP project of the bucket, of its writer account and of the cluster's workload identity pool. */
    readonly project: string;
    /** The bucket's name, unique across all of GCS. */
    readonly bucketName: string;
    /** GCS location: a region (`europe-west1`) or a multi-region (`EU`). */
    readonly location: string;
    /** Days a backup is kept; a backup deleted or overwritten before then stays recoverable as long again. */
    readonly retentionDays: number;
    /** The Kubernetes ServiceAccount the uploads run as: it may create objects, nothing else. */
    readonly uploader: { readonly namespace: string; readonly name: string };
    /** Google service account id of the uploader (6-30 characters). */
    readonly uploaderAccountId: string;
    /** Protect the bucket from deletion and replacement by Pulumi. */
    readonly protect: boolean;
}

/**
 * The GCS bucket that holds the etcd backups, and the only identity that writes to it. Nothing in
 * it is public; every object is versioned, so a deletion or an overwrite (which the uploader may
 * not do anyway) leaves the previous version behind; backups expire after the retention.
 */
export class BackupBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    /** Annotations that let the uploader's Kubernetes ServiceAccount act as the bucket's writer. */
    public readonly uploaderAnnotations: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:BackupBucket", name, {}, opts);
        if (!Number.isInteger(args.retentionDays) || args.retentionDays < 1) {
            throw new pulumi.ResourceError(`retentionDays must be a positive integer, got ${args.retentionDays}`, this);
        }
        const bucket = new storage.Bucket(
            name,
            {
                name: args.bucketName,
                project: args.project,
                location: args.location,
                storageClass: "STANDARD",
                uniformBucketLevelAccess: true,
                publicAccessPrevention: "enforced",
                versioning: { enabled: true },
                lifecycleRules: [
                    // An expired backup becomes a noncurrent version, deleted in turn by the next rule.
                    { action: { type: "Delete" }, condition: { age: args.retentionDays, withState: "LIVE" } },
                    { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: args.retentionDays } },
                ],
            },
            { parent: this, protect: args.protect },
        );
        // objectCreator cannot read, list, delete or overwrite: a leaked token cannot destroy backups.
        const writer = new BucketWorkloadIdentity(
            `${name}-writer`,
            {
                project: args.project,
                accountId: args.uploaderAccountId,
                description: `Uploads etcd backups to gs://${args.bucketName}; may only create objects there`,
                bucket: bucket.name,
                role: "roles/storage.objectCreator",
                kubernetesServiceAccount: args.uploader,
            },
            { parent: this },
        );
        this.bucketName = bucket.name;
        this.uploaderAnnotations = writer.serviceAccountAnnotations;
        this.registerOutputs({ bucketName: this.bucketName });
    }
}
