/**
 * Every metric the alert rules read is one that exists: the etcd ones in the /metrics of a real etcd
 * 3.5 member (Debian's newest, of the minor the stack deploys): the rendered prod StatefulSet's 3
 * members in the pod sandbox (test/pod-sandbox), scraped as the collector scrapes them, on each pod's
 * metrics port by its pod DNS name, with the stack's own configuration file (`metrics: extensive`);
 * the Kubernetes ones in a documented list. A histogram is stored as `<name>_bucket`, `_sum` and
 * `_count`, which is what the rules must name and what the scrape shows.
 */
import { alertRuleGroups } from "../../components/monitoring/alert-rules";
import { findManifest, renderedPlan } from "../rendered-plan";
import { waitFor } from "../etcd/wait";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";
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

let sandbox: PodSandbox;
let members: MemberPods;
let exported: Set<string>;
let exposition: string;

/** The member's /metrics, from its pod's metrics port (the port the PodMonitoring scrapes). */
async function scrape(ordinal: number): Promise<string> {
    const url = `http://${members.statefulSet.podName(ordinal)}.${members.statefulSet.serviceName}.etcd.svc.cluster.local:2381/metrics`;
    const { status, body } = await sandbox.http(url, { timeoutMs: 5000 });
    if (status !== 200) throw new Error(`${url}: HTTP ${status}`);
    return body;
}

beforeAll(async () => {
    const { manifests, plan } = renderedPlan("prod");
    sandbox = await PodSandbox.create({ manifests, secrets: stackSecrets({ manifests, resources: plan.resources }).secrets });
    members = new MemberPods(sandbox, sandbox.statefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd")));
    // One member is enough: apisix-etcd-0 alone, on a first deploy, founds a cluster of itself.
    const restore = members.withholdLaterConfigMaps(plan);
    await members.statefulSet.startPod(0);
    const client = members.client(0);
    await waitFor("apisix-etcd-0 healthy", async () => client.health(), { timeoutMs: WAIT_MS, intervalMs: 100 });
    restore();

    // Some series appear only once something happened: a peer to probe (the first probe report comes
    // ~5 s later, so it is added first; a learner at an address where nothing listens, which does not
    // count towards quorum: the lone member keeps its leader), requests of each kind.
    const added = await sandbox.http(`${members.clientUrl(0)}/v3/cluster/member/add`, {
        method: "POST",
        body: JSON.stringify({ peerURLs: [`http://${members.statefulSet.podName(0)}.${members.statefulSet.serviceName}.etcd.svc.cluster.local:2390`], isLearner: true }),
        timeoutMs: 5000,
    });
    expect(added.status).toBe(200);
    await client.put("/apisix/routes/1", "{}");
    await client.get("/apisix/routes/1");
    await client.getPrefix("/apisix/");
    exposition = await waitFor(
        "the peer round-trip histogram",
        async () => {
            const text = await scrape(0);
            return sampleNames(text).has("etcd_network_peer_round_trip_time_seconds_bucket") && text;
        },
        { timeoutMs: WAIT_MS, intervalMs: 500 },
    );
    exported = sampleNames(exposition);
});

afterAll(async () => {
    await sandbox?.close();
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
