import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdContainer, etcdSetting, isEtcdStatefulSet } from "../etcd-members";

/**
 * A member's data must outlive its pod. An emptyDir dies with the pod, a hostPath with the node,
 * and the container's own filesystem with the container.
 */
export const memberDataOnVolumeClaims: ResourceValidationPolicy = {
    name: "etcd-member-data-on-volume-claims",
    description: "Each etcd member keeps its data dir on a PersistentVolumeClaim from the StatefulSet's volumeClaimTemplates.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const report = environmentReport(args.urn, args.stackTags, reportViolation);
        const container = etcdContainer(args.props)!;
        const dataDir = etcdSetting(container, "data-dir");
        if (!dataDir) {
            report("the etcd container sets no data dir (--data-dir or ETCD_DATA_DIR), so etcd writes inside the container; put it on the claim template's volume.");
            return;
        }
        const mount = (container.volumeMounts ?? [])
            .filter((candidate) => dataDir === candidate.mountPath || dataDir.startsWith(candidate.mountPath.replace(/\/?$/, "/")))
            .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
        const claimNames = (args.props.spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name);
        if (!mount) {
            report(`the data dir ${dataDir} is on no volume mount; mount a volumeClaimTemplates volume there.`);
        } else if (!claimNames.includes(mount.name)) {
            const volume = args.props.spec?.template?.spec?.volumes?.find((candidate) => candidate.name === mount.name);
            const kind = volume ? Object.keys(volume).find((key) => key !== "name") : "unknown";
            report(`the data dir ${dataDir} is on volume "${mount.name}" (${kind}), not on a volumeClaimTemplates claim; its data would not survive the pod or node.`);
        }
    },
};
