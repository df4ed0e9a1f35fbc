import * as k8s from "@pulumi/kubernetes";

/**
 * The security settings of the stack's job and init containers. The `etcd` namespace enforces the
 * restricted Pod Security Standard, so a pod without them is refused by the API server.
 */

/** A non-root UID; distroless' conventional user, the one the member pods run as too. */
export const NON_ROOT_UID = 65532;

/** Pod level: non-root, the runtime's default seccomp profile, volumes writable by the pod's group. */
export const restrictedPodSecurityContext: k8s.types.input.core.v1.PodSecurityContext = {
    runAsNonRoot: true,
    runAsUser: NON_ROOT_UID,
    runAsGroup: NON_ROOT_UID,
    fsGroup: NON_ROOT_UID,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
};

/** Container level: no privilege escalation, no capabilities, a read-only root filesystem. */
export const restrictedContainerSecurityContext: k8s.types.input.core.v1.SecurityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};
