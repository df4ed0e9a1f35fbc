import * as pulumi from "@pulumi/pulumi";
import { childrenOf, declareUnderMocks, single, valueOf } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { BackupBucket, BackupBucketArgs } from "./backup-bucket";

const args: BackupBucketArgs = {
    project: "apisix-prod",
    bucketName: "apisix-prod-apisix-etcd-backups",
    location: "EU",
    retentionDays: 30,
    uploader: { namespace: "etcd", name: "apisix-etcd-backup" },
    uploaderAccountId: "apisix-etcd-backup",
    protect: true,
};

let resources: RegisteredResource[];
const outputs: Record<string, unknown> = {};
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        const prod = new BackupBucket("prod", args);
        new BackupBucket("dev", { ...args, bucketName: "apisix-dev-backups", protect: false, retentionDays: 3 });
        void valueOf(prod.bucketName).then((value) => (outputs.bucketName = value));
        void valueOf(prod.uploaderAnnotations).then((value) => (outputs.annotations = value));
        for (const [variant, wrong] of [["no-retention", { retentionDays: 0 }], ["bad-account", { uploaderAccountId: "Backup" }]] as const) {
            try {
                new BackupBucket(variant, { ...args, ...wrong });
            } catch (error) {
                expect(error).toBeInstanceOf(pulumi.ResourceError);
                errors.push((error as Error).message);
            }
        }
    });
});

const of = (variant: string, type: string) => single(childrenOf(resources, "apisix-etcd:index:BackupBucket", variant), type);
const bucket = (variant: string) => of(variant, "gcp:storage/bucket:Bucket");

test("the bucket is named, placed and owned as asked, versioned, private, and IAM-only", () => {
    expect(bucket("prod").inputs).toMatchObject({
        name: args.bucketName,
        project: "apisix-prod",
        location: "EU",
        versioning: { enabled: true },
        publicAccessPrevention: "enforced",
        uniformBucketLevelAccess: true,
    });
});

test("backups expire after the retention, and a replaced or deleted one after as long again", () => {
    expect(bucket("prod").inputs.lifecycleRules).toEqual([
        { action: { type: "Delete" }, condition: { age: 30, withState: "LIVE" } },
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 30 } },
    ]);
    expect((bucket("dev").inputs.lifecycleRules as any[]).map((rule) => rule.condition)).toEqual([{ age: 3, withState: "LIVE" }, { daysSinceNoncurrentTime: 3 }]);
});

test("the bucket is protected when asked, and only then", () => {
    expect(bucket("prod").options.protect).toBe(true);
    expect(bucket("dev").options.protect).toBe(false);
});

test("a Google service account may only create objects in that bucket", () => {
    const account = of("prod", "gcp:serviceaccount/account:Account");
    expect(account.inputs).toMatchObject({ project: "apisix-prod", accountId: "apisix-etcd-backup" });
    const grants = childrenOf(resources, "apisix-etcd:index:BackupBucket", "prod").filter((r) => r.type.startsWith("gcp:") && r.type.includes("IAM"));
    expect(grants.map((r) => r.inputs)).toEqual(
        expect.arrayContaining([
            { bucket: args.bucketName, role: "roles/storage.objectCreator", member: "serviceAccount:apisix-etcd-backup@apisix-prod.iam.gserviceaccount.com" },
        ]),
    );
    expect(resources.some((r) => r.type === "gcp:serviceaccount/key:Key")).toBe(false);
});

test("the uploader's Kubernetes ServiceAccount, and only it, may act as that account through Workload Identity", () => {
    expect(of("prod", "gcp:serviceaccount/iAMMember:IAMMember").inputs).toEqual({
        serviceAccountId: "projects/apisix-prod/serviceAccounts/apisix-etcd-backup@apisix-prod.iam.gserviceaccount.com",
        role: "roles/iam.workloadIdentityUser",
        member: "serviceAccount:apisix-prod.svc.id.goog[etcd/apisix-etcd-backup]",
    });
    expect(outputs.annotations).toEqual({ "iam.gke.io/gcp-service-account": "apisix-etcd-backup@apisix-prod.iam.gserviceaccount.com" });
});

test("exposes the bucket's name", () => {
    expect(outputs.bucketName).toBe(args.bucketName);
});

test("refuses a retention of no days and an account id GCP would refuse", () => {
    expect(errors).toEqual([expect.stringMatching(/retentionDays must be a positive integer, got 0/), expect.stringMatching(/accountId .* got "Backup"/)]);
});
