import { ResourceValidationPolicy } from "@pulumi/policy";
import { etcdContainer, etcdSetting, isEtcdStatefulSet } from "../etcd-members";

/**
 * Without compaction etcd keeps every revision until the backend reaches its quota, and then
 * refuses all writes (NOSPACE). An explicit quota says how much disk that is.
 */
export const quotaAndCompaction: ResourceValidationPolicy = {
    name: "etcd-quota-and-compaction",
    description: "The etcd members set a backend quota (quota-backend-bytes) and automatic compaction (auto-compaction-retention).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const container = etcdContainer(args.props)!;
        for (const flag of ["quota-backend-bytes", "auto-compaction-retention"]) {
            if (!etcdSetting(container, flag)) {
                reportViolation(`--${flag} is not set; set it through apisix-etcd:${flag === "quota-backend-bytes" ? "quotaBackendBytes" : "autoCompaction"}.`);
            }
        }
    },
};
