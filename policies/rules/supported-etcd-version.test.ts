import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { imageVersion, supportedEtcdVersion } from "./supported-etcd-version";

const withImage = (image: string) => changed(statefulSet(), (p) => (p.spec.template.spec.containers.find((c: { name: string }) => c.name === "etcd").image = image));

describe("etcd-supported-version", () => {
    it.each([
        ["gcr.io/etcd-development/etcd:v3.5.33", [3, 5, 33]],
        [`quay.io/coreos/etcd:v3.6.1@sha256:${"b".repeat(64)}`, [3, 6, 1]],
        ["registry.local:5000/etcd:3.5.19", [3, 5, 19]],
        ["registry.local:5000/etcd:v3.5.21-amd64", [3, 5, 21]],
        [`gcr.io/etcd-development/etcd@sha256:${"a".repeat(64)}`, undefined],
        ["registry.local:5000/etcd:3.5", undefined],
    ])("%s names version %j", (image, version) => {
        expect(imageVersion(image)).toEqual(version);
    });

    it("accepts 3.5.19 and later, 3.6 and later", async () => {
        for (const image of ["gcr.io/etcd-development/etcd:v3.5.19", "gcr.io/etcd-development/etcd:v3.5.33", "gcr.io/etcd-development/etcd:v3.6.0"]) {
            expect(await runResourcePolicy(supportedEtcdVersion, withImage(image))).toEqual([]);
        }
    });

    it("blocks an etcd before 3.5.19 (its readiness passes on a learner), naming the image", async () => {
        expect(await runResourcePolicy(supportedEtcdVersion, withImage("gcr.io/etcd-development/etcd:v3.5.16"))).toEqual([
            expect.objectContaining({ message: expect.stringContaining('"gcr.io/etcd-development/etcd:v3.5.16" is etcd 3.5.16') }),
        ]);
        expect(await runResourcePolicy(supportedEtcdVersion, withImage("gcr.io/etcd-development/etcd:v3.4.30"))).toHaveLength(1);
    });

    it("only advises on an image whose tag names no version", async () => {
        const violations = await runResourcePolicy(supportedEtcdVersion, withImage(`gcr.io/etcd-development/etcd@sha256:${"a".repeat(64)}`));
        expect(violations).toEqual([expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringContaining("names no version") })]);
    });
});
