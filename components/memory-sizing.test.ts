import { memberResourcesForQuota, snapshotRestoreResources } from "./memory-sizing";

const GIB = 2 ** 30;

test.each([
    [GIB, "2048Mi"],
    [2 * GIB, "3072Mi"],
    [4 * GIB, "6144Mi"],
    [8 * GIB, "12288Mi"],
])("a member with a quota of %d bytes requests and is limited to %s", (quota, memory) => {
    expect(memberResourcesForQuota(quota)).toEqual({ requests: { cpu: "500m", memory }, limits: { memory } });
});

test("a restore step gets the largest database plus 512Mi", () => {
    expect(snapshotRestoreResources(4 * GIB)).toEqual({ requests: { cpu: "100m", memory: "4608Mi" }, limits: { memory: "4608Mi" } });
    expect(snapshotRestoreResources(1.5 * GIB + 1).limits).toEqual({ memory: "2049Mi" });
});
