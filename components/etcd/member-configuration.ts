import { stringify } from "yaml";
import { MemberSecurity, securityConfiguration } from "./member-security";
import { CLIENT_PORT, ClusterTopology, METRICS_PORT, PEER_PORT } from "./topology";

/** etcd's own settings, beside the cluster's shape. */
export interface MemberSettings {
    /** Where the data volume is mounted; etcd's data dir is a folder inside it. */
    readonly dataMountPath: string;
    /** `--quota-backend-bytes`, in bytes. */
    readonly quotaBackendBytes: number;
    readonly autoCompaction: { readonly mode: "periodic" | "revision"; readonly retention: string };
    readonly security: MemberSecurity;
}

/** etcd's data dir: a folder inside the data volume's mount (`data/`, where Bitnami's chart keeps it too). */
export function memberDataDir(dataMountPath: string): string {
    return `${dataMountPath}/data`;
}

/** The kubelet-style reference to the pod's own name that the member-join step replaces in the file. */
export const POD_NAME_REFERENCE = "$(POD_NAME)";

/**
 * The keys the member-join step adds to the file at each start, from what it finds (a data dir of its
 * own, a cluster to join, or none yet): they are not in the file the stack declares.
 */
export const START_KEYS = ["initial-cluster-state", "initial-cluster", "initial-cluster-token"] as const;

/** etcd reads time.Duration values of a config file as integer nanoseconds only ("5m" is refused). */
const minutes = (count: number): number => count * 60 * 1e9;

/**
 * The member's etcd configuration file, as declared: every setting etcd gets. etcd reads nothing else
 * once it is given `--config-file` (no flag, no ETCD_* variable), so nothing may be set elsewhere.
 * {@link POD_NAME_REFERENCE} stands for the member's own name; {@link START_KEYS} are added at start.
 */
export function memberConfiguration(topology: ClusterTopology, settings: MemberSettings): Record<string, unknown> {
    const self = POD_NAME_REFERENCE;
    return {
        name: self,
        "data-dir": memberDataDir(settings.dataMountPath),
        "listen-peer-urls": `${settings.security.tls ? "https" : "http"}://0.0.0.0:${PEER_PORT}`,
        "listen-client-urls": `${settings.security.tls?.clientTls ? "https" : "http"}://0.0.0.0:${CLIENT_PORT}`,
        // Plain http even with TLS on: it serves only /metrics and /health (the probes and Prometheus).
        "listen-metrics-urls": `http://0.0.0.0:${METRICS_PORT}`,
        "initial-advertise-peer-urls": topology.peerUrl(self),
        "advertise-client-urls": topology.clientUrlOf(self),
        // A vote that would leave fewer started members than a quorum is refused (etcd's default, kept explicit).
        "strict-reconfig-check": true,
        "quota-backend-bytes": settings.quotaBackendBytes,
        "auto-compaction-mode": settings.autoCompaction.mode,
        "auto-compaction-retention": settings.autoCompaction.retention,
        // Latency histograms per gRPC method, which the slow-request alerts read.
        metrics: "extensive",
        // A member whose data diverged from its peers refuses to start instead of serving it.
        "experimental-initial-corrupt-check": true,
        "experimental-corrupt-check-time": minutes(5),
        ...securityConfiguration(settings.security),
        logger: "zap",
        "log-level": "info",
        "log-outputs": ["stderr"],
    };
}

/** The file as etcd reads it (YAML), with a header that says where it comes from. */
export function memberConfigurationFile(configuration: Record<string, unknown>): string {
    return (
        `# etcd configuration of each member, declared by the stack (components/etcd/member-configuration.ts).\n` +
        `# At each start the member-join step writes the member's own copy: ${POD_NAME_REFERENCE} replaced by its\n` +
        `# pod name, plus ${START_KEYS.join(", ")}.\n` +
        stringify(configuration, { lineWidth: 0 })
    );
}
