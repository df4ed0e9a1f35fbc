import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { isPinned, pinnedImages } from "./pinned-images";

describe("etcd-pinned-images", () => {
    it.each([
        ["gcr.io/etcd-development/etcd:v3.5.33", true],
        [`gcr.io/etcd-development/etcd@sha256:${"a".repeat(64)}`, true],
        [`quay.io/coreos/etcd:v3.5.33@sha256:${"b".repeat(64)}`, true],
        ["registry.local:5000/etcd:3.5", true],
        ["gcr.io/etcd-development/etcd:latest", false],
        ["gcr.io/etcd-development/etcd", false],
        ["registry.local:5000/etcd", false],
        ["etcd@sha256:short", false],
    ])("%s pinned: %s", (image, pinned) => {
        expect(isPinned(image)).toBe(pinned);
    });

    it("blocks an unpinned image in any container of the members, naming it", async () => {
        expect(await runResourcePolicy(pinnedImages, statefulSet())).toEqual([]);
        const latestInit = changed(statefulSet(), (p) => (p.spec.template.spec.initContainers = [{ name: "restore", image: "gcr.io/etcd-development/etcd:latest" }]));
        expect(await runResourcePolicy(pinnedImages, latestInit)).toEqual([
            expect.objectContaining({ message: expect.stringContaining('container "restore" runs image "gcr.io/etcd-development/etcd:latest"') }),
        ]);
    });
});
