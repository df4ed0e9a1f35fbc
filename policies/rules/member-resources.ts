import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdContainer, isEtcdStatefulSet } from "../etcd-members";

/**
 * Without requests a member can be starved on a busy node and miss heartbeats (leader elections);
 * without a memory limit a leak takes the node's memory, and other members with it.
 */
export const memberResources: ResourceValidationPolicy = {
    name: "etcd-member-resources",
    description: "The etcd container requests CPU and memory and has a memory limit.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const resources = etcdContainer(args.props)!.resources ?? {};
        const missing = [
            !resources.requests?.cpu && "requests.cpu",
            !resources.requests?.memory && "requests.memory",
            !resources.limits?.memory && "limits.memory",
        ].filter(Boolean);
        if (missing.length > 0) {
            environmentReport(args.urn, args.stackTags, reportViolation)(
                `the etcd container has no ${missing.join(", ")}; set them under apisix-etcd:resources.`,
            );
        }
    },
};
