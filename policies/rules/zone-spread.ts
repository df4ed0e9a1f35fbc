import { ResourceValidationPolicy } from "@pulumi/policy";
import { isEtcdStatefulSet } from "../etcd-members";
import { selects } from "../kubernetes-objects";

/** Members spread over zones keep quorum when a whole zone goes down. */
export const zoneSpread: ResourceValidationPolicy = {
    name: "etcd-zone-spread",
    description: "The etcd members are spread across zones by a topology spread constraint on topology.kubernetes.io/zone.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const template = args.props.spec?.template;
        const spread = (template?.spec?.topologySpreadConstraints ?? []).some(
            (constraint) => constraint.topologyKey === "topology.kubernetes.io/zone" && selects(constraint.labelSelector, template?.metadata?.labels),
        );
        if (!spread) {
            reportViolation("no topology spread constraint on topology.kubernetes.io/zone selects the members; a zone outage could take a majority.");
        }
    },
};
