import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdStatefulSets } from "../etcd-members";

const SNAPSHOT_CLASS = "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass";

/** A snapshot class that deletes the disk snapshot with its VolumeSnapshot object loses backups to a `kubectl delete`. */
export const retainedVolumeSnapshots: StackValidationPolicy = {
    name: "etcd-retained-volume-snapshots",
    description: "A VolumeSnapshotClass with deletionPolicy: Retain exists for the members' data volumes.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const [member] = etcdStatefulSets(args.resources);
        if (!member) {
            return;
        }
        const classes = args.resources.filter((resource) => resource.type === SNAPSHOT_CLASS);
        const report = environmentReport(member.urn, args.stackTags, reportViolation);
        if (classes.length === 0) {
            report("the stack declares no VolumeSnapshotClass; enable apisix-etcd:snapshots.", member.urn);
        }
        for (const snapshotClass of classes.filter((resource) => resource.props.deletionPolicy !== "Retain")) {
            report(`VolumeSnapshotClass ${snapshotClass.name} has deletionPolicy ${snapshotClass.props.deletionPolicy}; set it to Retain.`, snapshotClass.urn);
        }
    },
};
