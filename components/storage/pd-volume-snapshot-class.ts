import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PD_CSI_DRIVER } from "./pd-csi-driver";

export interface PdVolumeSnapshotClassArgs {
    /** Name of the VolumeSnapshotClass (cluster-wide). */
    readonly name: string;
}

/**
 * The VolumeSnapshotClass of the members' persistent disks. Its snapshots are Compute Engine disk
 * snapshots, stored outside the cluster and the zone, and restorable into a disk in any zone.
 */
export class PdVolumeSnapshotClass extends pulumi.ComponentResource {
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: PdVolumeSnapshotClassArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:PdVolumeSnapshotClass", name, {}, opts);
        // The snapshot CRDs have no typed class in @pulumi/kubernetes.
        const snapshotClass = new k8s.apiextensions.CustomResource(
            name,
            {
                apiVersion: "snapshot.storage.k8s.io/v1",
                kind: "VolumeSnapshotClass",
                metadata: { name: args.name },
                driver: PD_CSI_DRIVER,
                // Deleting a VolumeSnapshot object (pruning, a mistake) keeps the disk snapshot in Compute Engine.
                deletionPolicy: "Retain",
            },
            { parent: this },
        );
        this.name = snapshotClass.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
