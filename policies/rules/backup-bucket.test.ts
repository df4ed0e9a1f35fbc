import { bucket, changed } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { backupBucket } from "./backup-bucket";

describe("etcd-backup-bucket", () => {
    it("passes a versioned, private, protected bucket", async () => {
        expect(await runResourcePolicy(backupBucket, bucket())).toEqual([]);
    });

    it.each([
        ["versioning is off", (p: any) => (p.versioning.enabled = false)],
        ["publicAccessPrevention is inherited", (p: any) => (p.publicAccessPrevention = "inherited")],
        ["publicAccessPrevention is unset", (p: any) => delete p.publicAccessPrevention],
        ["uniformBucketLevelAccess is off", (p: any) => delete p.uniformBucketLevelAccess],
    ])("blocks a bucket whose %s", async (message, edit) => {
        expect(await runResourcePolicy(backupBucket, changed(bucket(), edit))).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining(message) }),
        ]);
    });

    it("blocks an unprotected bucket", async () => {
        expect((await runResourcePolicy(backupBucket, { ...bucket(), protect: false }))[0].message).toContain("the bucket is not protected");
    });
});
