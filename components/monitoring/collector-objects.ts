import { MetricsCollectorPods } from "../etcd/cluster";

/**
 * How each supported metrics collector is told to scrape the members and to evaluate the alert rules:
 * the custom resources it reads. Both take the same Prometheus rule groups.
 */

/**
 * `gmp`: Google Cloud Managed Service for Prometheus, GKE's managed collection (PodMonitoring, Rules).
 * `prometheus-operator`: a Prometheus run by the Prometheus Operator (PodMonitor, PrometheusRule).
 */
export type MonitoringFlavor = "gmp" | "prometheus-operator";

export interface ScrapeTarget {
    /** Labels that select the pods to scrape. */
    readonly podLabels: Readonly<Record<string, string>>;
    /** Name of the pods' container port that serves /metrics. */
    readonly port: string;
    /** The `job` label of every scraped series, which the alert rules select on. */
    readonly job: string;
    readonly interval: string;
}

interface ObjectType {
    readonly apiVersion: string;
    readonly kind: string;
}

/** The kind, and the spec, of the object that makes `flavor` scrape `target`'s pods in their own namespace. */
export function scrapeObject(flavor: MonitoringFlavor, target: ScrapeTarget): ObjectType & { readonly spec: Record<string, unknown> } {
    const selector = { matchLabels: target.podLabels };
    if (flavor === "gmp") {
        // GMP names the job after the PodMonitoring, so its name must be the job.
        return {
            apiVersion: "monitoring.googleapis.com/v1",
            kind: "PodMonitoring",
            spec: { selector, endpoints: [{ port: target.port, interval: target.interval }] },
        };
    }
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        spec: {
            selector,
            podMetricsEndpoints: [
                {
                    port: target.port,
                    interval: target.interval,
                    // The operator's job would be `<namespace>/<PodMonitor name>`; the rules expect the same job as under GMP.
                    relabelings: [{ action: "replace", targetLabel: "job", replacement: target.job }],
                },
            ],
        },
    };
}

/** The kind of the namespaced object that holds alert rule groups (its `spec.groups`) for `flavor`. */
export function rulesObjectType(flavor: MonitoringFlavor): ObjectType {
    return flavor === "gmp"
        ? { apiVersion: "monitoring.googleapis.com/v1", kind: "Rules" }
        : { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule" };
}

/**
 * GKE's managed collection: a DaemonSet whose pods are labelled `app.kubernetes.io/name: collector`, in
 * `gmp-system` on Standard clusters and in `gke-gmp-system` on Autopilot. Both are admitted, so the stack
 * need not know which kind of cluster it runs on; nothing else in those namespaces is.
 */
const GMP_COLLECTOR_PODS: readonly MetricsCollectorPods[] = ["gmp-system", "gke-gmp-system"].map((namespace) => ({
    namespace,
    podLabels: { "app.kubernetes.io/name": "collector" },
}));

/**
 * The pods of `flavor` that scrape the members. A Prometheus Operator's Prometheus is admitted by its
 * namespace (`prometheusNamespace`), since its pods' labels depend on how it was installed.
 */
export function collectorPods(flavor: MonitoringFlavor, prometheusNamespace?: string): readonly MetricsCollectorPods[] {
    if (flavor === "gmp") return GMP_COLLECTOR_PODS;
    if (prometheusNamespace === undefined) {
        throw new Error("the prometheus-operator flavor needs the namespace of its Prometheus");
    }
    return [{ namespace: prometheusNamespace }];
}
