import { StackValidationPolicy } from "@pulumi/policy";
import { etcdContainer, etcdSettings, etcdStatefulSets } from "../etcd-members";
import { parseQuantity } from "../kubernetes-quantity";

const GIB = 2 ** 30;
const MIB = 2 ** 20;
/** etcd 3.5's backend quota when `--quota-backend-bytes` is not set. */
const ETCD_DEFAULT_QUOTA_BYTES = 2 * GIB;

/**
 * What a member needs besides its database: etcd maps the whole backend file into memory (the pages
 * it touches count against the container's limit), and keeps the key index, the raft entries since
 * its last snapshot and its watchers on the heap. A member at its quota whose limit leaves no room
 * for that is OOM-killed just when the cluster is fullest, and restarts into the same state.
 */
export function memoryHeadroomBytes(quotaBytes: number): number {
    return Math.max(GIB, quotaBytes / 2);
}

const mib = (bytes: number) => `${Math.ceil(bytes / MIB)}Mi`;

export const memberMemoryHeadroom: StackValidationPolicy = {
    name: "etcd-member-memory-headroom",
    description: "The etcd container's memory limit covers the backend quota plus headroom (the larger of 1Gi and half the quota).",
    enforcementLevel: "advisory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const limitText = etcdContainer(member.props)!.resources?.limits?.memory;
            // No limit at all is etcd-member-resources' finding.
            const limit = limitText === undefined ? undefined : parseQuantity(limitText);
            if (limit === undefined) {
                continue;
            }
            const settings = etcdSettings(member.props, args.resources);
            const quotaText = settings.get("quota-backend-bytes");
            const quota = quotaText === undefined ? ETCD_DEFAULT_QUOTA_BYTES : Number(quotaText);
            if (!Number.isFinite(quota) || quota <= 0) {
                reportViolation(`${settings.describe("quota-backend-bytes")} is ${JSON.stringify(quotaText)}, not a number of bytes.`, member.urn);
                continue;
            }
            const needed = quota + memoryHeadroomBytes(quota);
            if (limit < needed) {
                reportViolation(
                    `the etcd container's memory limit ${limitText} is below the backend quota ${mib(quota)} plus ${mib(memoryHeadroomBytes(quota))} of headroom: ` +
                        `set apisix-etcd:resources.limits.memory to at least ${mib(needed)}, or lower apisix-etcd:quotaBackendBytes (leave resources unset to size it from the quota).`,
                    member.urn,
                );
            }
        }
    },
};
