import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { isEtcdStatefulSet } from "../etcd-members";

/**
 * With OrderedReady the StatefulSet waits for member 0 to be ready before it starts member 1, but
 * member 0 is never ready without a quorum: after a full restart the cluster would not come back.
 */
export const parallelMemberStart: ResourceValidationPolicy = {
    name: "etcd-parallel-member-start",
    description: "The etcd StatefulSet starts its members together (podManagementPolicy: Parallel), so that a stopped cluster can regain quorum.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const policy = args.props.spec?.podManagementPolicy ?? "OrderedReady";
        if (policy !== "Parallel") {
            environmentReport(args.urn, args.stackTags, reportViolation)(`spec.podManagementPolicy is ${policy}; set it to Parallel.`);
        }
    },
};
