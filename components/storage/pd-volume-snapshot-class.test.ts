import { childrenOf, declareUnderMocks, single } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { PdVolumeSnapshotClass } from "./pd-volume-snapshot-class";

let resources: RegisteredResource[];

beforeAll(async () => {
    resources = await declareUnderMocks(() => new PdVolumeSnapshotClass("snapshots", { name: "apisix-etcd-pd" }));
});

test("a snapshot.storage.k8s.io/v1 VolumeSnapshotClass of the PD CSI driver that retains disk snapshots", () => {
    const snapshotClass = single(childrenOf(resources, "apisix-etcd:index:PdVolumeSnapshotClass", "snapshots"), "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass");
    expect(snapshotClass.inputs).toEqual({
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshotClass",
        metadata: { name: "apisix-etcd-pd" },
        driver: "pd.csi.storage.gke.io",
        deletionPolicy: "Retain",
    });
});
