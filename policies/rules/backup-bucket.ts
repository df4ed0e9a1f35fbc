import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";

interface Bucket {
    versioning?: { enabled?: boolean };
    publicAccessPrevention?: string;
    uniformBucketLevelAccess?: boolean;
}

/**
 * The backups are the last copy of the gateway's configuration: an overwrite or delete must be
 * recoverable (versions), and no one outside the project may read them (they hold every route).
 */
export const backupBucket: ResourceValidationPolicy = {
    name: "etcd-backup-bucket",
    description: "A GCS bucket of the stack keeps object versions, enforces public access prevention and uniform bucket-level access, and is protected.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type !== "gcp:storage/bucket:Bucket") {
            return;
        }
        const bucket = args.props as Bucket;
        const report = environmentReport(args.urn, args.stackTags, reportViolation);
        if (bucket.versioning?.enabled !== true) {
            report("versioning is off; set versioning.enabled: true so that an overwritten or deleted backup can be recovered.");
        }
        if (bucket.publicAccessPrevention !== "enforced") {
            report(`publicAccessPrevention is ${bucket.publicAccessPrevention ?? "unset"}; set it to "enforced".`);
        }
        if (bucket.uniformBucketLevelAccess !== true) {
            report("uniformBucketLevelAccess is off; turn it on so that only IAM decides who reads backups.");
        }
        if (!args.opts.protect) {
            report("the bucket is not protected; set apisix-etcd:protect to true.");
        }
    },
};
