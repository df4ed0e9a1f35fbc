/**
 * Every metric the alert rules read is one that exists: the etcd ones in the /metrics of a real etcd
 * 3.5 member (Debian's newest, of the minor the stack deploys) started here with the stack's `--metrics=extensive`, the Kubernetes ones in a
 * documented list. A histogram is stored as `<name>_bucket`, `_sum` and `_count`, which is what the
 * rules must name and what the scrape shows.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { alertRuleGroups } from "../../components/monitoring/alert-rules";
import { etcdBinaries } from "../etcd/binaries";
import { findManifest, renderedPlan } from "../rendered-plan";
import { LocalCluster } from "../etcd/local-cluster";
import { waitFor } from "../etcd/wait";
import { OPERATOR_SCOPE, PROD_SCOPE } from "./alert-scope";
import { readPromql } from "./promql";

jest.setTimeout(60_000);

/** Series Prometheus adds to every scrape target itself. */
const PROMETHEUS_METRICS: Readonly<Record<string, string>> = {
    up: "1 when the target's last scrape succeeded, 0 when it failed",
};

/** Metrics the rules read that Kubernetes exports about the members, and which exporter does. */
const KUBERNETES_METRICS: Readonly<Record<string, string>> = {
    kube_cronjob_created: "kube-state-metrics, cronjobs: creation time (labels namespace, cronjob)",
    kube_cronjob_status_last_successful_time: "kube-state-metrics, cronjobs: end of the last successful run; absent until one succeeded",
    kubelet_volume_stats_available_bytes: "kubelet, per mounted PersistentVolumeClaim (labels namespace, persistentvolumeclaim)",
    kubelet_volume_stats_capacity_bytes: "kubelet, per mounted PersistentVolumeClaim (labels namespace, persistentvolumeclaim)",
};

/**
 * Metrics the Google Cloud rules read, as Cloud Monitoring names them in PromQL: GKE's system metric of pod
 * volumes, and the log-based metrics the stack declares on its jobs' success lines (their names are the
 * scope's: EtcdMonitoring derives them from the metrics it declares, see etcd-monitoring.test.ts).
 */
const GOOGLE_CLOUD_METRICS: Readonly<Record<string, string>> = {
    "kubernetes_io:pod_volume_utilization": "GKE system metric kubernetes.io/pod/volume/utilization (k8s_pod; label volume_name)",
    [PROD_SCOPE.backup!.successMetric!]: "log-based metric: the backup's upload step's success lines",
    [PROD_SCOPE.authBootstrap!.successMetric!]: "log-based metric: the auth bootstrap's success lines",
    [PROD_SCOPE.membershipChecks!]: "log-based metric: the members' membership lines, by the counts they name",
};

const IP = "127.0.0.61";
const CLIENT_URL = `http://${IP}:2379`;
const METRICS_URL = `http://${IP}:2381/metrics`;
/** A peer that is never started: the member probes it, and only then exports its peer round-trip histogram. */
const ABSENT_PEER_URL = `http://${IP}:2390`;
const WAIT_MS = 20_000;

const ruleMetrics = [
    ...new Set([PROD_SCOPE, OPERATOR_SCOPE].flatMap((scope) => alertRuleGroups(scope).flatMap((g) => g.rules.flatMap((r) => readPromql(r.expr).metricNames)))),
].sort();
const KNOWN: Readonly<Record<string, string>> = { ...PROMETHEUS_METRICS, ...KUBERNETES_METRICS, ...GOOGLE_CLOUD_METRICS };

/** Metric names of the samples in a Prometheus text exposition. */
function sampleNames(exposition: string): Set<string> {
    return new Set(exposition.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => line.split(/[{ ]/)[0]));
}

/** The metrics among `names` that neither etcd exported nor Prometheus or Kubernetes are known to. */
function unknownMetrics(names: readonly string[], exported: ReadonlySet<string>): string[] {
    return names.filter((name) => !exported.has(name) && !(name in KNOWN));
}

async function scrape(): Promise<string> {
    const response = await fetch(METRICS_URL, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`${METRICS_URL}: HTTP ${response.status}`);
    return response.text();
}

let workDir: string;
let cluster: LocalCluster;
let exported: Set<string>;
let exposition: string;

beforeAll(async () => {
    const { etcd } = await etcdBinaries();
    workDir = mkdtempSync(path.join(os.tmpdir(), "etcd-metrics-"));
    const dataDir = path.join(workDir, "m0.etcd");
    cluster = new LocalCluster({
        workDir,
        etcdBinary: etcd,
        members: [
            {
                name: "m0",
                ip: IP,
                args: [],
                dataDir,
                env: {
                    ETCD_NAME: "m0",
                    ETCD_DATA_DIR: dataDir,
                    ETCD_LISTEN_CLIENT_URLS: CLIENT_URL,
                    ETCD_ADVERTISE_CLIENT_URLS: CLIENT_URL,
                    ETCD_LISTEN_PEER_URLS: `http://${IP}:2380`,
                    ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${IP}:2380`,
                    ETCD_INITIAL_CLUSTER: `m0=http://${IP}:2380`,
                    ETCD_LISTEN_METRICS_URLS: `http://${IP}:2381`,
                    // As the members run (components/etcd/member-configuration.ts): per-method latency histograms.
                    ETCD_METRICS: "extensive",
                },
            },
        ],
    });
    await cluster.start();
    await cluster.waitHealthy(WAIT_MS);

    // Some series appear only once something happened: a peer to probe (the first probe report comes
    // ~5 s later, so it is added first), requests of each kind. A learner does not count towards
    // quorum: the lone member keeps its leader.
    const added = await fetch(`${CLIENT_URL}/v3/cluster/member/add`, {
        method: "POST",
        body: JSON.stringify({ peerURLs: [ABSENT_PEER_URL], isLearner: true }),
        signal: AbortSignal.timeout(5000),
    });
    expect(added.status).toBe(200);
    const client = cluster.client("m0");
    await client.put("/apisix/routes/1", "{}");
    await client.get("/apisix/routes/1");
    await client.getPrefix("/apisix/");
    exposition = await waitFor(
        "the peer round-trip histogram",
        async () => {
            const text = await scrape();
            return sampleNames(text).has("etcd_network_peer_round_trip_time_seconds_bucket") && text;
        },
        { timeoutMs: WAIT_MS, intervalMs: 500 },
    );
    exported = sampleNames(exposition);
});

afterAll(async () => {
    await cluster?.stopAll();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test("the member is etcd 3.5, the minor the stack deploys, with extensive metrics", () => {
    const deployed = /:v(\d+\.\d+)\.\d+$/.exec(findManifest(renderedPlan().manifests, "StatefulSet", "apisix-etcd").spec.template.spec.containers[0].image)?.[1];
    expect(deployed).toBe("3.5");
    expect(exposition).toMatch(/^etcd_server_version\{server_version="3\.5\.\d+"\} 1$/m);
    expect(exported).toContain("grpc_server_handling_seconds_bucket");
});

test("every metric the rules read is exported by etcd, or by Prometheus, Kubernetes or Google Cloud", () => {
    expect(ruleMetrics.length).toBeGreaterThan(10);
    expect(unknownMetrics(ruleMetrics, exported)).toEqual([]);
    // The etcd metrics are checked against the scrape, not waved through by a list.
    expect(ruleMetrics.filter((name) => exported.has(name))).toEqual(
        expect.arrayContaining([
            "etcd_server_has_leader",
            "etcd_mvcc_db_total_size_in_bytes",
            "etcd_network_peer_round_trip_time_seconds_bucket",
            "grpc_server_handled_total",
            // The restart alert's: etcd's own process start time, which every platform scrapes.
            "process_start_time_seconds",
        ]),
    );
});

test("the Kubernetes, Google Cloud and Prometheus lists hold only what the rules read, none of it etcd's", () => {
    const listed = Object.keys(KNOWN);
    expect(listed.filter((name) => !ruleMetrics.includes(name))).toEqual([]);
    expect(listed.filter((name) => exported.has(name))).toEqual([]);
});

test("a misspelled metric, or a histogram without its suffix, is caught", () => {
    expect(unknownMetrics(["etcd_server_has_leaders", "etcd_disk_wal_fsync_duration_seconds", "kube_pod_container_restarts_total"], exported)).toEqual([
        "etcd_server_has_leaders",
        "etcd_disk_wal_fsync_duration_seconds",
        "kube_pod_container_restarts_total",
    ]);
});
