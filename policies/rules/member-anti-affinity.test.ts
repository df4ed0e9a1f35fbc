import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { memberAntiAffinity } from "./member-anti-affinity";

describe("etcd-member-anti-affinity", () => {
    it("passes a required hostname anti-affinity that selects the members", async () => {
        expect(await runResourcePolicy(memberAntiAffinity, statefulSet())).toEqual([]);
    });

    it.each([
        ["only preferred", (p: any) => {
            const term = p.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
            p.spec.template.spec.affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
        }],
        ["on zones instead of nodes", (p: any) => {
            p.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey = "topology.kubernetes.io/zone";
        }],
        ["selecting other pods", (p: any) => {
            p.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector = { matchLabels: { app: "other" } };
        }],
        ["with an empty selector", (p: any) => {
            p.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector = {};
        }],
        ["missing", (p: any) => delete p.spec.template.spec.affinity],
    ])("blocks an anti-affinity %s", async (_, edit) => {
        const reported = await runResourcePolicy(memberAntiAffinity, changed(statefulSet(), edit));
        expect(reported).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("set apisix-etcd:antiAffinity to required") })]);
    });

    it("accepts a selector written with matchExpressions", async () => {
        const expressions = changed(statefulSet(), (p) => {
            p.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector = {
                matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["etcd"] }],
            };
        });
        expect(await runResourcePolicy(memberAntiAffinity, expressions)).toEqual([]);
    });
});
