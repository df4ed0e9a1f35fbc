import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { isEtcdStatefulSet } from "../etcd-members";

/**
 * An etcd cluster survives the loss of a minority of its members. One member survives nothing;
 * an even number tolerates no more failures than the odd number below it, and splits worse.
 */
export const quorumReplicas: ResourceValidationPolicy = {
    name: "etcd-quorum-replicas",
    description: "The etcd StatefulSet runs an odd number of members, at least the configured minimum (3), so that it keeps quorum when a member fails.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minReplicas: { type: "integer", minimum: 1, default: 3, description: "Fewest members a production cluster may run." },
        },
    },
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const { minReplicas } = args.getConfig<{ minReplicas: number }>();
        const replicas = args.props.spec?.replicas ?? 1;
        const report = environmentReport(args.urn, args.stackTags, reportViolation);
        if (replicas < minReplicas) {
            report(`spec.replicas is ${replicas}; run at least ${minReplicas} members (set apisix-etcd:replicas to 3 or 5).`);
        } else if (replicas % 2 === 0) {
            report(`spec.replicas is ${replicas}, an even number: it tolerates no more failures than ${replicas - 1}. Use ${replicas - 1} or ${replicas + 1}.`);
        }
    },
};
