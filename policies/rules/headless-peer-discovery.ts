import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdStatefulSets } from "../etcd-members";
import { Service } from "../kubernetes-objects";

/**
 * Members find each other through the headless Service's DNS names before any of them is ready.
 * If the Service publishes only ready pods, no member resolves its peers and the cluster never forms.
 */
export const headlessPeerDiscovery: StackValidationPolicy = {
    name: "etcd-headless-peer-discovery",
    description: "The etcd StatefulSet's serviceName is a headless Service (clusterIP: None) that publishes not-ready addresses.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const statefulSet = member.props;
            const namespace = statefulSet.metadata?.namespace;
            const serviceName = statefulSet.spec?.serviceName;
            const service = args.resources.find(
                (resource) =>
                    resource.type === "kubernetes:core/v1:Service" &&
                    (resource.props as Service).metadata?.name === serviceName &&
                    (resource.props as Service).metadata?.namespace === namespace,
            )?.props as Service | undefined;
            const report = environmentReport(member.urn, args.stackTags, reportViolation);
            if (!service) {
                report(`the StatefulSet's serviceName "${serviceName}" is no Service of this stack in namespace ${namespace}; declare it headless.`, member.urn);
            } else if (service.spec?.clusterIP !== "None" || service.spec?.publishNotReadyAddresses !== true) {
                report(`Service ${serviceName} must be headless (clusterIP: None) with publishNotReadyAddresses: true.`, member.urn);
            }
        }
    },
};
