import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdContainer, etcdSettings, etcdStatefulSets } from "../etcd-members";
import { StatefulSet } from "../kubernetes-objects";

/**
 * A member's data must outlive its pod. An emptyDir dies with the pod, a hostPath with the node,
 * and the container's own filesystem with the container.
 */
/** What keeps the data dir of the members of `statefulSet` off their claims; undefined when nothing does. */
function dataDirProblem(statefulSet: StatefulSet, dataDir: string | undefined, describe: string): string | undefined {
    const container = etcdContainer(statefulSet)!;
    if (!dataDir) {
        return `the etcd container sets no data dir (${describe}), so etcd writes inside the container; put it on the claim template's volume.`;
    }
    const mount = (container.volumeMounts ?? [])
        .filter((candidate) => dataDir === candidate.mountPath || dataDir.startsWith(candidate.mountPath.replace(/\/?$/, "/")))
        .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const claimNames = (statefulSet.spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name);
    if (!mount) {
        return `the data dir ${dataDir} is on no volume mount; mount a volumeClaimTemplates volume there.`;
    }
    if (!claimNames.includes(mount.name)) {
        const volume = statefulSet.spec?.template?.spec?.volumes?.find((candidate) => candidate.name === mount.name);
        const kind = volume ? Object.keys(volume).find((key) => key !== "name") : "unknown";
        return `the data dir ${dataDir} is on volume "${mount.name}" (${kind}), not on a volumeClaimTemplates claim; its data would not survive the pod or node.`;
    }
    return undefined;
}

export const memberDataOnVolumeClaims: StackValidationPolicy = {
    name: "etcd-member-data-on-volume-claims",
    description: "Each etcd member keeps its data dir on a PersistentVolumeClaim from the StatefulSet's volumeClaimTemplates.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const settings = etcdSettings(member.props, args.resources);
            const describe = settings.fromFile ? "data-dir in the configuration file" : "--data-dir or ETCD_DATA_DIR";
            const problem = [...settings.problems, dataDirProblem(member.props, settings.get("data-dir"), describe)].filter(Boolean).join("; ");
            if (problem) environmentReport(member.urn, args.stackTags, reportViolation)(problem, member.urn);
        }
    },
};
