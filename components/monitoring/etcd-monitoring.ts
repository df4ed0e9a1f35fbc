import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { alertRuleGroups, SCRAPE_INTERVAL } from "./alert-rules";
import { MonitoringFlavor, rulesObjectType, scrapeObject } from "./collector-objects";

/** A CronJob of the stack whose successful runs an alert watches, and the longest time between two of its scheduled runs. */
export interface MonitoredCronJob {
    readonly cronJobName: pulumi.Input<string>;
    readonly intervalSeconds: number;
}

export interface EtcdMonitoringArgs {
    /**
     * The members' namespace, where the scrape configuration and the rules live. Under GMP a Rules
     * object sees only series labelled with its own namespace, so the kube-state-metrics and kubelet
     * series about the members' pods, claims and CronJobs must keep theirs in `namespace`.
     */
    readonly namespace: pulumi.Input<string>;
    /** Name of the scrape configuration and `job` label of every series scraped from the members; the rules are `<name>-alerts`. */
    readonly name: string;
    /** Which collector scrapes and evaluates: GKE's managed Prometheus, or a Prometheus Operator. */
    readonly flavor: MonitoringFlavor;
    /** Labels that select the member pods (EtcdCluster.memberLabels), and nothing else. */
    readonly memberLabels: Readonly<Record<string, string>>;
    /** Name of the members' container port that serves /metrics. */
    readonly metricsPort: string;
    /** The members' StatefulSet; its pods are `<name>-<ordinal>`. */
    readonly statefulSetName: pulumi.Input<string>;
    /** How many members the cluster should have: fewer answering is an alert. */
    readonly replicas: number;
    /** The members' PersistentVolumeClaims (EtcdCluster.dataClaimNames). */
    readonly dataClaimNames: readonly string[];
    /** The backup CronJob, if there is one. */
    readonly backup?: MonitoredCronJob;
    /** The auth bootstrap's CronJob, if there is one. */
    readonly authBootstrap?: MonitoredCronJob;
    /** Where docs/runbooks.md is read (a URL, or the path in this repository); alerts link to its sections. */
    readonly runbookBaseUrl: string;
    /** Labels that every object of the stack carries (EtcdCluster.instanceLabels). */
    readonly instanceLabels: Readonly<Record<string, string>>;
    /** More labels for both objects, e.g. the `release` label a Prometheus Operator selects PodMonitors and PrometheusRules by. */
    readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Monitoring of an etcd cluster: the collector scrapes every member's metrics port, and evaluates the
 * alert rules of alert-rules.ts on them and on what Kubernetes reports about the members.
 */
export class EtcdMonitoring extends pulumi.ComponentResource {
    constructor(name: string, args: EtcdMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:EtcdMonitoring", name, {}, opts);
        if (Object.keys(args.memberLabels).length === 0) {
            // An empty selector would scrape every pod of the namespace as a member.
            throw new pulumi.ResourceError("memberLabels must not be empty", this);
        }
        if (!Number.isInteger(args.replicas) || args.replicas < 1) {
            throw new pulumi.ResourceError(`replicas must be a positive integer, got ${args.replicas}`, this);
        }
        if (args.dataClaimNames.length === 0) {
            throw new pulumi.ResourceError("dataClaimNames must name at least one PersistentVolumeClaim", this);
        }
        for (const [key, cronJob] of Object.entries({ backup: args.backup, authBootstrap: args.authBootstrap })) {
            if (cronJob && (!Number.isInteger(cronJob.intervalSeconds) || cronJob.intervalSeconds <= 0)) {
                throw new pulumi.ResourceError(`${key}.intervalSeconds must be a positive integer, got ${cronJob.intervalSeconds}`, this);
            }
        }
        if (args.runbookBaseUrl === "" || args.runbookBaseUrl.includes("#")) {
            throw new pulumi.ResourceError(`runbookBaseUrl must be a non-empty URL without a fragment, got ${JSON.stringify(args.runbookBaseUrl)}`, this);
        }

        const labels = { ...args.labels, ...args.instanceLabels, "app.kubernetes.io/component": "monitoring", "app.kubernetes.io/managed-by": "pulumi" };
        const scrape = scrapeObject(args.flavor, { podLabels: args.memberLabels, port: args.metricsPort, job: args.name, interval: SCRAPE_INTERVAL });
        new k8s.apiextensions.CustomResource(
            `${name}-scrape`,
            { ...scrape, metadata: { name: args.name, namespace: args.namespace, labels } },
            { parent: this },
        );

        const groups = pulumi
            .all([args.namespace, args.statefulSetName, args.backup, args.authBootstrap])
            .apply(([namespace, statefulSetName, backup, authBootstrap]) =>
                alertRuleGroups({
                    namespace,
                    job: args.name,
                    statefulSetName,
                    replicas: args.replicas,
                    dataClaimNames: args.dataClaimNames,
                    backup,
                    authBootstrap,
                    runbookBaseUrl: args.runbookBaseUrl,
                }),
            );
        new k8s.apiextensions.CustomResource(
            `${name}-alerts`,
            { ...rulesObjectType(args.flavor), metadata: { name: `${args.name}-alerts`, namespace: args.namespace, labels }, spec: { groups } },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
