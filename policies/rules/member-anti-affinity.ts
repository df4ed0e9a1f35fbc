import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { isEtcdStatefulSet } from "../etcd-members";
import { selects } from "../kubernetes-objects";

/** Two members on one node fall together: one node failure would cost quorum. */
export const memberAntiAffinity: ResourceValidationPolicy = {
    name: "etcd-member-anti-affinity",
    description: "etcd members are kept on different nodes by a required pod anti-affinity on kubernetes.io/hostname that selects the members' own pods.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const template = args.props.spec?.template;
        const terms = template?.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
        const spreadsMembers = terms.some(
            (term) => term.topologyKey === "kubernetes.io/hostname" && selects(term.labelSelector, template?.metadata?.labels),
        );
        if (!spreadsMembers) {
            environmentReport(args.urn, args.stackTags, reportViolation)(
                "no required pod anti-affinity term on kubernetes.io/hostname selects the member pods' labels; " +
                    "set apisix-etcd:antiAffinity to required (a preferred term lets the scheduler stack members on one node).",
            );
        }
    },
};
