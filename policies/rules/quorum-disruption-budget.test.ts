import { changed, disruptionBudget, statefulSet } from "../test-support/fixtures";
import { runStackPolicy } from "../test-support/run-policy";
import { quorumDisruptionBudget } from "./quorum-disruption-budget";

const withReplicas = (replicas: number) => changed(statefulSet(), (p) => (p.spec.replicas = replicas));

describe("etcd-quorum-disruption-budget", () => {
    it.each([
        [3, { minAvailable: 2 }],
        [3, { maxUnavailable: 1 }],
        [3, { minAvailable: "50%" }],
        [5, { minAvailable: 3 }],
        [5, { maxUnavailable: "40%" }],
    ])("passes %i members with %j", async (replicas, spec) => {
        expect(await runStackPolicy(quorumDisruptionBudget, [withReplicas(replicas), disruptionBudget(spec)])).toEqual([]);
    });

    it.each([
        [3, { minAvailable: 1 }],
        [3, { maxUnavailable: 2 }],
        [3, { minAvailable: "33%" }],
        [5, { minAvailable: 2 }],
        [5, {}],
    ])("blocks %i members with %j", async (replicas, spec) => {
        const reported = await runStackPolicy(quorumDisruptionBudget, [withReplicas(replicas), disruptionBudget(spec)]);
        expect(reported).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("keeps a quorum") })]);
    });

    it("blocks when no budget selects the members", async () => {
        const elsewhere = changed(disruptionBudget(), (p) => (p.spec.selector = { matchLabels: { app: "other" } }));
        for (const resources of [[statefulSet()], [statefulSet(), elsewhere]]) {
            expect((await runStackPolicy(quorumDisruptionBudget, resources))[0].message).toContain("no PodDisruptionBudget selects the members of apisix-etcd; add one with minAvailable: 2.");
        }
    });
});
