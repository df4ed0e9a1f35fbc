import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PD_CSI_DRIVER } from "./pd-csi-driver";

export interface MemberStorageClassArgs {
    /** Name of the StorageClass, which the members' volume claims name. */
    readonly name: string;
    /** Compute Engine persistent disk type of the volumes. */
    readonly diskType: "pd-ssd" | "pd-balanced";
}

/**
 * The StorageClass of the members' data volumes: SSD persistent disks that are created in the zone
 * the member is scheduled to, can grow in place, and outlive their claims.
 */
export class MemberStorageClass extends pulumi.ComponentResource {
    /** The class's name, resolved once it exists (so claims naming it wait for it). */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: MemberStorageClassArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:MemberStorageClass", name, {}, opts);
        const storageClass = new k8s.storage.v1.StorageClass(
            name,
            {
                metadata: { name: args.name },
                provisioner: PD_CSI_DRIVER,
                parameters: { type: args.diskType },
                // A zonal disk must be created where its pod runs, or the zone spread of the members is lost.
                volumeBindingMode: "WaitForFirstConsumer",
                allowVolumeExpansion: true,
                // Deleting a claim (by mistake, or to restore) leaves the disk behind as a last copy.
                reclaimPolicy: "Retain",
            },
            { parent: this },
        );
        this.name = storageClass.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
