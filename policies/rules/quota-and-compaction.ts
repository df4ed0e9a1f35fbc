import { StackValidationPolicy } from "@pulumi/policy";
import { etcdSettings, etcdStatefulSets } from "../etcd-members";

/**
 * Without compaction etcd keeps every revision until the backend reaches its quota, and then
 * refuses all writes (NOSPACE). An explicit quota says how much disk that is.
 */
export const quotaAndCompaction: StackValidationPolicy = {
    name: "etcd-quota-and-compaction",
    description: "The etcd members set a backend quota (quota-backend-bytes) and automatic compaction (auto-compaction-retention).",
    enforcementLevel: "advisory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const settings = etcdSettings(member.props, args.resources);
            for (const flag of ["quota-backend-bytes", "auto-compaction-retention"]) {
                if (!settings.get(flag)) {
                    reportViolation(`${settings.describe(flag)} is not set; set it through apisix-etcd:${flag === "quota-backend-bytes" ? "quotaBackendBytes" : "autoCompaction"}.`, member.urn);
                }
            }
        }
    },
};
