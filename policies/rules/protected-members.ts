import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { isEtcdStatefulSet } from "../etcd-members";

/**
 * Several StatefulSet fields can only change by replacement, which for a fixed name means delete
 * then create: every member down at once. `protect` makes Pulumi refuse that and deletion.
 */
export const protectedMembers: ResourceValidationPolicy = {
    name: "etcd-protected-members",
    description: "The etcd StatefulSet is protected (resource option protect) against deletion and replacement.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (isEtcdStatefulSet(args.type, args.props) && !args.opts.protect) {
            environmentReport(args.urn, args.stackTags, reportViolation)("the StatefulSet is not protected; set apisix-etcd:protect to true.");
        }
    },
};
