import { ResourceValidationPolicy } from "@pulumi/policy";
import { etcdContainer, isEtcdStatefulSet } from "../etcd-members";

/** etcd needs neither root nor a writable image: a compromised member then has less to work with. */
export const restrictedContainer: ResourceValidationPolicy = {
    name: "etcd-restricted-container",
    description: "The etcd container runs as non-root with a read-only root filesystem.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (!isEtcdStatefulSet(args.type, args.props)) {
            return;
        }
        const podContext = args.props.spec?.template?.spec?.securityContext;
        const context = etcdContainer(args.props)!.securityContext;
        if (context?.runAsNonRoot !== true && podContext?.runAsNonRoot !== true) {
            reportViolation("the etcd container may run as root; set runAsNonRoot: true.");
        }
        if (context?.readOnlyRootFilesystem !== true) {
            reportViolation("the etcd container's root filesystem is writable; set readOnlyRootFilesystem: true.");
        }
    },
};
