import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { parallelMemberStart } from "./parallel-member-start";

describe("etcd-parallel-member-start", () => {
    it("passes Parallel", async () => {
        expect(await runResourcePolicy(parallelMemberStart, statefulSet())).toEqual([]);
    });

    it("blocks OrderedReady, also when it is left to the default", async () => {
        const ordered = changed(statefulSet(), (p) => (p.spec.podManagementPolicy = "OrderedReady"));
        const unset = changed(statefulSet(), (p) => delete p.spec.podManagementPolicy);
        for (const statefulSetProps of [ordered, unset]) {
            expect(await runResourcePolicy(parallelMemberStart, statefulSetProps)).toEqual([
                expect.objectContaining({ enforcementLevel: "mandatory", message: "spec.podManagementPolicy is OrderedReady; set it to Parallel." }),
            ]);
        }
    });
});
