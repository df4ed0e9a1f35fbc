import * as k8s from "@pulumi/kubernetes";
import { MemberSecurity, securitySettings } from "./member-security";
import { CLIENT_PORT, ClusterTopology, METRICS_PORT, PEER_PORT } from "./topology";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** etcd's own settings, beside the cluster's shape. */
export interface MemberSettings {
    /** Where the data volume is mounted; etcd's data dir is a folder inside it. */
    readonly dataMountPath: string;
    /** `--quota-backend-bytes`, in bytes. */
    readonly quotaBackendBytes: number;
    readonly autoCompaction: { readonly mode: "periodic" | "revision"; readonly retention: string };
    readonly security: MemberSecurity;
}

/** etcd's data dir: a folder inside the data volume's mount. */
export function memberDataDir(dataMountPath: string): string {
    return `${dataMountPath}/data`;
}

/**
 * The environment that configures one member. The official etcd image has no shell, so nothing can
 * compute a member's name at start-up: the pod's own name comes in through the downward API and
 * Kubernetes substitutes `$(POD_NAME)` into the values that follow it.
 */
export function memberEnvironment(topology: ClusterTopology, settings: MemberSettings): EnvVar[] {
    const self = "$(POD_NAME)";
    const etcd: Record<string, string> = {
        ETCD_NAME: self,
        ETCD_DATA_DIR: memberDataDir(settings.dataMountPath),
        ETCD_LISTEN_PEER_URLS: `${settings.security.tls ? "https" : "http"}://0.0.0.0:${PEER_PORT}`,
        ETCD_LISTEN_CLIENT_URLS: `${settings.security.tls?.clientTls ? "https" : "http"}://0.0.0.0:${CLIENT_PORT}`,
        // Plain http even with TLS on: it serves only /metrics and /health (the probes and Prometheus).
        ETCD_LISTEN_METRICS_URLS: `http://0.0.0.0:${METRICS_PORT}`,
        ETCD_INITIAL_ADVERTISE_PEER_URLS: topology.peerUrl(self),
        ETCD_ADVERTISE_CLIENT_URLS: topology.clientUrlOf(self),
        ETCD_INITIAL_CLUSTER: topology.initialCluster,
        // Only read when a member starts on an empty data dir; afterwards the data dir is the truth.
        ETCD_INITIAL_CLUSTER_STATE: "new",
        ETCD_INITIAL_CLUSTER_TOKEN: topology.headlessServiceName,
        ETCD_QUOTA_BACKEND_BYTES: String(settings.quotaBackendBytes),
        ETCD_AUTO_COMPACTION_MODE: settings.autoCompaction.mode,
        ETCD_AUTO_COMPACTION_RETENTION: settings.autoCompaction.retention,
        // Latency histograms per gRPC method, which the slow-request alerts read.
        ETCD_METRICS: "extensive",
        // A member whose data diverged from its peers refuses to start instead of serving it.
        ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: "true",
        ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME: "5m",
        ...securitySettings(settings.security),
        ETCD_LOGGER: "zap",
        ETCD_LOG_LEVEL: "info",
    };
    return [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ...Object.entries(etcd).map(([name, value]) => ({ name, value })),
    ];
}
