import { changed, CONFIG_FILE_TEXT, configFileMembers, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy, runStackPolicy } from "../test-support/run-policy";
import { quotaAndCompaction } from "./quota-and-compaction";
import { restrictedContainer } from "./restricted-container";
import { zoneSpread } from "./zone-spread";

describe("advisory rules", () => {
    it("are advisory and quiet for the compliant members", async () => {
        for (const policy of [zoneSpread, restrictedContainer]) {
            expect(policy.enforcementLevel).toBe("advisory");
            expect(await runResourcePolicy(policy, statefulSet())).toEqual([]);
        }
        expect(quotaAndCompaction.enforcementLevel).toBe("advisory");
        expect(await runStackPolicy(quotaAndCompaction, [statefulSet()])).toEqual([]);
    });

    it("etcd-zone-spread reports members without a zone constraint", async () => {
        const onNodes = changed(statefulSet(), (p) => (p.spec.template.spec.topologySpreadConstraints[0].topologyKey = "kubernetes.io/hostname"));
        expect(await runResourcePolicy(zoneSpread, onNodes)).toEqual([expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringContaining("topology.kubernetes.io/zone") })]);
    });

    it("etcd-quota-and-compaction names each missing flag, read from env or the command line", async () => {
        const noEnv = changed(statefulSet(), (p) => (p.spec.template.spec.containers[0].env = []));
        expect((await runStackPolicy(quotaAndCompaction, [noEnv])).map((v) => v.message)).toEqual([
            expect.stringContaining("--quota-backend-bytes is not set"),
            expect.stringContaining("--auto-compaction-retention is not set"),
        ]);
        const byFlags = changed(noEnv, (p) => (p.spec.template.spec.containers[0].args = ["--quota-backend-bytes=8589934592", "--auto-compaction-retention", "1h"]));
        expect(await runStackPolicy(quotaAndCompaction, [byFlags])).toEqual([]);
    });

    it("etcd-restricted-container reports root and a writable root filesystem", async () => {
        const loose = changed(statefulSet(), (p) => {
            delete p.spec.template.spec.securityContext;
            p.spec.template.spec.containers[0].securityContext = {};
        });
        expect((await runResourcePolicy(restrictedContainer, loose)).map((v) => v.message)).toEqual([
            expect.stringContaining("may run as root"),
            expect.stringContaining("root filesystem is writable"),
        ]);
    });

    it("reads quota and compaction of members configured by a file from that file", async () => {
        expect(await runStackPolicy(quotaAndCompaction, configFileMembers())).toEqual([]);
        const noQuota = configFileMembers(CONFIG_FILE_TEXT.replace("quota-backend-bytes: 4294967296\n", ""));
        expect((await runStackPolicy(quotaAndCompaction, noQuota)).map((v) => v.message)).toEqual([
            "quota-backend-bytes (in the configuration file) is not set; set it through apisix-etcd:quotaBackendBytes.",
        ]);
    });
});
