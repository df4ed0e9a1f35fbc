import { changed, CONFIG_FILE_TEXT, configFileMembers, statefulSet } from "../test-support/fixtures";
import { runStackPolicy, urnOf } from "../test-support/run-policy";
import { memberMemoryHeadroom } from "./member-memory-headroom";

const GIB = 2 ** 30;
const withMemory = (limit: string | undefined, quota: string | undefined) =>
    changed(statefulSet(), (p) => {
        const container = p.spec.template.spec.containers[0];
        container.resources.limits = limit === undefined ? undefined : { memory: limit };
        container.env = container.env.filter((e: { name: string }) => e.name !== "ETCD_QUOTA_BACKEND_BYTES");
        if (quota !== undefined) container.env.push({ name: "ETCD_QUOTA_BACKEND_BYTES", value: quota });
    });

describe("etcd-member-memory-headroom", () => {
    it("is advisory", () => {
        expect(memberMemoryHeadroom.enforcementLevel).toBe("advisory");
    });

    it.each([
        ["6Gi", String(4 * GIB)],
        ["6442450944", String(4 * GIB)],
        ["12Gi", String(8 * GIB)],
        ["2Gi", String(GIB)],
        ["3Gi", undefined],
    ])("passes a limit of %s against a quota of %s bytes", async (limit, quota) => {
        expect(await runStackPolicy(memberMemoryHeadroom, [withMemory(limit, quota)])).toEqual([]);
    });

    it("reports a 2Gi limit against a 4Gi quota, naming what would do", async () => {
        expect(await runStackPolicy(memberMemoryHeadroom, [withMemory("2Gi", String(4 * GIB))])).toEqual([
            expect.objectContaining({
                enforcementLevel: "advisory",
                message:
                    "the etcd container's memory limit 2Gi is below the backend quota 4096Mi plus 2048Mi of headroom: set apisix-etcd:resources.limits.memory to at least 6144Mi, or lower apisix-etcd:quotaBackendBytes (leave resources unset to size it from the quota).",
            }),
        ]);
    });

    it.each([
        ["just under quota plus half of it", "6143Mi", String(4 * GIB)],
        ["under quota plus 1Gi for a small quota", "1500Mi", String(GIB)],
        ["under etcd's default quota of 2Gi plus 1Gi, read from no setting", "2Gi", undefined],
        ["in decimal units", "6G", String(4 * GIB)],
    ])("reports a limit %s", async (_, limit, quota) => {
        expect(await runStackPolicy(memberMemoryHeadroom, [withMemory(limit, quota)])).toHaveLength(1);
    });

    it("reads the quota from the command line too", async () => {
        const byFlag = changed(withMemory("2Gi", undefined), (p) => (p.spec.template.spec.containers[0].args = ["--quota-backend-bytes=8589934592"]));
        expect((await runStackPolicy(memberMemoryHeadroom, [byFlag]))[0].message).toContain("backend quota 8192Mi plus 4096Mi");
    });

    it("leaves a missing limit to etcd-member-resources", async () => {
        expect(await runStackPolicy(memberMemoryHeadroom, [withMemory(undefined, String(4 * GIB))])).toEqual([]);
    });

    it("reads the quota of members configured by a file from that file", async () => {
        const [members, configMap] = configFileMembers(CONFIG_FILE_TEXT.replace("quota-backend-bytes: 4294967296", `quota-backend-bytes: ${8 * GIB}`));
        const small = changed(members, (p) => (p.spec.template.spec.containers[0].resources.limits = { memory: "6Gi" }));
        expect(await runStackPolicy(memberMemoryHeadroom, [small, configMap])).toEqual([
            expect.objectContaining({ urn: urnOf("prod", small), message: expect.stringContaining("below the backend quota 8192Mi plus 4096Mi of headroom") }),
        ]);
    });
});
