import { snapshotClass, statefulSet } from "../test-support/fixtures";
import { runStackPolicy } from "../test-support/run-policy";
import { retainedVolumeSnapshots } from "./retained-volume-snapshots";

describe("etcd-retained-volume-snapshots", () => {
    it("passes a Retain snapshot class", async () => {
        expect(await runStackPolicy(retainedVolumeSnapshots, [statefulSet(), snapshotClass()])).toEqual([]);
    });

    it("blocks a missing class and a Delete class", async () => {
        expect(await runStackPolicy(retainedVolumeSnapshots, [statefulSet()])).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("declares no VolumeSnapshotClass") }),
        ]);
        expect(await runStackPolicy(retainedVolumeSnapshots, [statefulSet(), snapshotClass("Delete")])).toEqual([
            expect.objectContaining({ message: "VolumeSnapshotClass apisix-etcd-snapshots has deletionPolicy Delete; set it to Retain." }),
        ]);
    });

    it("says nothing for a stack without etcd members", async () => {
        expect(await runStackPolicy(retainedVolumeSnapshots, [])).toEqual([]);
    });
});
