import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { quorumReplicas } from "./quorum-replicas";

describe("etcd-quorum-replicas", () => {
    it("passes 3 and 5 members", async () => {
        for (const replicas of [3, 5]) {
            expect(await runResourcePolicy(quorumReplicas, changed(statefulSet(), (p) => (p.spec.replicas = replicas)))).toEqual([]);
        }
    });

    it.each([
        [1, "spec.replicas is 1; run at least 3 members"],
        [2, "spec.replicas is 2; run at least 3 members"],
        [4, "spec.replicas is 4, an even number"],
        [6, "Use 5 or 7"],
    ])("blocks %i members in production", async (replicas, message) => {
        const reported = await runResourcePolicy(quorumReplicas, changed(statefulSet(), (p) => (p.spec.replicas = replicas)));
        expect(reported).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining(message) })]);
    });

    it("counts an unset replicas as the one member Kubernetes runs", async () => {
        const reported = await runResourcePolicy(quorumReplicas, changed(statefulSet(), (p) => delete p.spec.replicas));
        expect(reported[0].message).toContain("spec.replicas is 1");
    });

    it("only advises outside production, and treats a stack tagged production as production", async () => {
        const one = changed(statefulSet(), (p) => (p.spec.replicas = 1));
        expect(await runResourcePolicy(quorumReplicas, one, { stack: "dev" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory" })]);
        expect(await runResourcePolicy(quorumReplicas, one, { stack: "staging", stackTags: { environment: "production" } })).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory" }),
        ]);
    });

    it("reads the minimum from the policy config", async () => {
        const three = statefulSet();
        expect(await runResourcePolicy(quorumReplicas, three, { config: { minReplicas: 5 } })).toEqual([
            expect.objectContaining({ message: expect.stringContaining("run at least 5 members") }),
        ]);
    });

    it("ignores StatefulSets that run no etcd", async () => {
        const other = changed(statefulSet(), (p) => {
            p.spec.replicas = 1;
            p.spec.template.spec.containers = [{ name: "redis", image: "redis:7", command: ["redis-server"] }];
        });
        expect(await runResourcePolicy(quorumReplicas, other)).toEqual([]);
    });
});
