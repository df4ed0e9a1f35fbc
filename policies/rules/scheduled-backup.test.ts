import { backupCronJob, changed, statefulSet } from "../test-support/fixtures";
import { runStackPolicy } from "../test-support/run-policy";
import { scheduledBackup } from "./scheduled-backup";

describe("etcd-scheduled-backup", () => {
    it("passes a snapshot CronJob that forbids concurrent runs", async () => {
        expect(await runStackPolicy(scheduledBackup, [statefulSet(), backupCronJob()])).toEqual([]);
    });

    it("blocks concurrent runs", async () => {
        expect(await runStackPolicy(scheduledBackup, [statefulSet(), backupCronJob("Allow")])).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: "backup CronJob apisix-etcd-backup allows concurrent runs; set concurrencyPolicy: Forbid." }),
        ]);
    });

    it("blocks a stack whose CronJobs take no snapshot", async () => {
        const notBackup = changed(backupCronJob(), (p) => (p.spec.jobTemplate.spec.template.spec.initContainers[0].args = ["defrag"]));
        for (const resources of [[statefulSet()], [statefulSet(), notBackup]]) {
            expect((await runStackPolicy(scheduledBackup, resources))[0].message).toContain("no CronJob takes etcd snapshots");
        }
    });

    it("only advises outside production", async () => {
        expect(await runStackPolicy(scheduledBackup, [statefulSet()], { stack: "dev" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory" })]);
    });
});
