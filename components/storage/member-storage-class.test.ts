import { childrenOf, declareUnderMocks, single, valueOf } from "../../test/component-mocks";
import { RegisteredResource } from "../../plan/recording-monitor";
import { MemberStorageClass } from "./member-storage-class";

let resources: RegisteredResource[];
let name: string;

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        const ssd = new MemberStorageClass("ssd", { name: "apisix-etcd-ssd", diskType: "pd-ssd" });
        new MemberStorageClass("balanced", { name: "apisix-etcd-balanced", diskType: "pd-balanced" });
        void valueOf(ssd.name).then((value) => (name = value));
    });
});

const storageClassOf = (component: string) =>
    single(childrenOf(resources, "apisix-etcd:index:MemberStorageClass", component), "kubernetes:storage.k8s.io/v1:StorageClass").inputs as any;

test("a StorageClass of GKE's PD CSI driver, named as asked, with the disk type asked", () => {
    expect(storageClassOf("ssd")).toMatchObject({ metadata: { name: "apisix-etcd-ssd" }, provisioner: "pd.csi.storage.gke.io", parameters: { type: "pd-ssd" } });
    expect(storageClassOf("balanced")).toMatchObject({ metadata: { name: "apisix-etcd-balanced" }, parameters: { type: "pd-balanced" } });
});

test("disks are made in the member's zone, can grow, and outlive their claims", () => {
    expect(storageClassOf("ssd")).toMatchObject({ volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true, reclaimPolicy: "Retain" });
});

test("exposes the class's name for the claims", () => {
    expect(name).toBe("apisix-etcd-ssd");
});
