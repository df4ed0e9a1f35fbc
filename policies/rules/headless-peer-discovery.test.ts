import { changed, headlessService, statefulSet } from "../test-support/fixtures";
import { runStackPolicy } from "../test-support/run-policy";
import { headlessPeerDiscovery } from "./headless-peer-discovery";

describe("etcd-headless-peer-discovery", () => {
    it("passes a headless Service that publishes not-ready addresses", async () => {
        expect(await runStackPolicy(headlessPeerDiscovery, [statefulSet(), headlessService()])).toEqual([]);
    });

    it.each([
        ["not headless", (p: any) => (p.spec.clusterIP = "10.0.0.1")],
        ["publishing only ready pods", (p: any) => delete p.spec.publishNotReadyAddresses],
    ])("blocks a Service %s", async (_, edit) => {
        const reported = await runStackPolicy(headlessPeerDiscovery, [statefulSet(), changed(headlessService(), edit)]);
        expect(reported).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: "Service apisix-etcd-headless must be headless (clusterIP: None) with publishNotReadyAddresses: true." }),
        ]);
    });

    it("blocks a serviceName with no Service, or one in another namespace", async () => {
        expect((await runStackPolicy(headlessPeerDiscovery, [statefulSet()]))[0].message).toContain('serviceName "apisix-etcd-headless" is no Service');
        const elsewhere = changed(headlessService(), (p) => (p.metadata.namespace = "default"));
        expect(await runStackPolicy(headlessPeerDiscovery, [statefulSet(), elsewhere])).toHaveLength(1);
    });
});
