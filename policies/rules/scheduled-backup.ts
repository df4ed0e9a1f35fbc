import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdStatefulSets } from "../etcd-members";
import { commandLine, Container, podContainers, workloadPodSpec } from "../kubernetes-objects";

interface CronJob {
    spec?: { concurrencyPolicy?: string };
}

/** Whether a container takes an etcd snapshot (`etcdctl snapshot save`). */
function savesSnapshot(container: Container): boolean {
    return /etcdctl\b.*\bsnapshot\s+save\b/.test(commandLine(container));
}

/**
 * Replicas protect against a lost member, not against a bad write or a deleted key: only a backup
 * off the cluster does. Two backups at once would double the load on the members for nothing.
 */
export const scheduledBackup: StackValidationPolicy = {
    name: "etcd-scheduled-backup",
    description: "A CronJob takes etcd snapshots (etcdctl snapshot save) for the cluster, never two at once (concurrencyPolicy: Forbid).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const [member] = etcdStatefulSets(args.resources);
        if (!member) {
            return;
        }
        const backups = args.resources.filter(
            (resource) => resource.type === "kubernetes:batch/v1:CronJob" && podContainers(workloadPodSpec(resource.type, resource.props)).some(savesSnapshot),
        );
        const report = environmentReport(member.urn, args.stackTags, reportViolation);
        if (backups.length === 0) {
            report("no CronJob takes etcd snapshots; enable apisix-etcd:backup.", member.urn);
        }
        for (const backup of backups.filter((resource) => (resource.props as CronJob).spec?.concurrencyPolicy !== "Forbid")) {
            report(`backup CronJob ${backup.name} allows concurrent runs; set concurrencyPolicy: Forbid.`, backup.urn);
        }
    },
};
