import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { alertNamesOn, alertRuleGroups, CRON_JOBS, PlatformMetrics, RULE_GROUP_NAMES, SCRAPE_INTERVAL } from "./alert-rules";
import { MonitoringFlavor, rulesObjectType, scrapeObject } from "./collector-objects";
import { alertPolicy, membershipLogMetric, membershipMetricId, promqlMetricName, successLogMetric, SuccessLog, successMetricId } from "./google-cloud-alerts";

/** A CronJob of the stack whose successful runs an alert watches, and the longest time between two of its scheduled runs. */
export interface MonitoredCronJob {
    readonly cronJobName: pulumi.Input<string>;
    readonly intervalSeconds: number;
    /** The line its pods log on success: what the alert counts on Google Cloud (flavor `gmp`, required there). */
    readonly successLog?: SuccessLog;
}

/** Where the Google Cloud alerts live and what they select: flavor `gmp`. */
export interface GoogleCloudMonitoring {
    /** The project of the GKE cluster, whose Cloud Logging and Monitoring hold the cluster's logs and metrics. */
    readonly project: string;
    /** The GKE cluster's name, as Google Cloud labels its logs and metrics (`cluster_name`). */
    readonly clusterName: string;
    /** The notification channels (`projects/<project>/notificationChannels/<id>`) every alert policy notifies. */
    readonly notificationChannels: readonly string[];
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
    /** The members' data volume in their pods (EtcdCluster.dataVolumeName). */
    readonly dataVolumeName: string;
    /**
     * Flavor `gmp` (required there): GKE's managed collection has no CronJob metrics and scrapes no kubelet
     * unless told to, so the alerts on the volumes and the CronJobs are Cloud Monitoring alert policies, on
     * GKE's system metrics and on log-based metrics of the jobs' success lines.
     */
    readonly googleCloud?: GoogleCloudMonitoring;
    /** The backup CronJob, if there is one. */
    readonly backup?: MonitoredCronJob;
    /** The auth bootstrap's CronJob, if there is one. */
    readonly authBootstrap?: MonitoredCronJob;
    /**
     * The line the members' membership containers log each round with the cluster's counts (`registered=<n>`,
     * `unstarted=<n>`): what the alerts on the registered members count on Google Cloud (flavor `gmp`, required there).
     */
    readonly membershipLog?: SuccessLog;
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

        const googleCloud = args.flavor === "gmp" ? args.googleCloud : undefined;
        if (args.flavor === "gmp" && !googleCloud) {
            throw new pulumi.ResourceError("flavor gmp needs googleCloud (the project and the GKE cluster's name) for the alerts on volumes and CronJobs", this);
        }
        const cronJobs = { backup: args.backup, authBootstrap: args.authBootstrap };
        const watched = CRON_JOBS.filter((key) => cronJobs[key] !== undefined);
        for (const key of watched) {
            if (googleCloud && !cronJobs[key]!.successLog) {
                throw new pulumi.ResourceError(`${key}.successLog must name the line its pods log on success: flavor gmp counts it`, this);
            }
        }

        if (googleCloud && !args.membershipLog) {
            throw new pulumi.ResourceError("membershipLog must name the line the membership containers log with the cluster's counts: flavor gmp counts it", this);
        }

        const labels = { ...args.labels, ...args.instanceLabels, "app.kubernetes.io/component": "monitoring", "app.kubernetes.io/managed-by": "pulumi" };
        const scrape = scrapeObject(args.flavor, { podLabels: args.memberLabels, port: args.metricsPort, job: args.name, interval: SCRAPE_INTERVAL });
        new k8s.apiextensions.CustomResource(
            `${name}-scrape`,
            { ...scrape, metadata: { name: args.name, namespace: args.namespace, labels } },
            { parent: this },
        );

        const platform: PlatformMetrics = googleCloud ? { source: "google-cloud", clusterName: googleCloud.clusterName } : { source: "kubernetes" };
        const successMetrics = googleCloud
            ? watched.map((key) =>
                  successLogMetric(
                      `${name}-${key}-succeeded`,
                      { ...googleCloud, namespace: args.namespace },
                      cronJobs[key]!.cronJobName,
                      cronJobs[key]!.successLog!,
                      { parent: this },
                  ),
              )
            : [];
        const membershipMetric =
            googleCloud && membershipLogMetric(`${name}-membership-checks`, { ...googleCloud, namespace: args.namespace }, args.statefulSetName, args.membershipLog!, { parent: this });
        /** A watched CronJob as the rules read it, with the PromQL name of its success metric on Google Cloud. */
        const watchedCronJob = (namespace: string, cronJob: { cronJobName: string; intervalSeconds: number } | undefined) =>
            cronJob && {
                cronJobName: cronJob.cronJobName,
                intervalSeconds: cronJob.intervalSeconds,
                successMetric: googleCloud && promqlMetricName(`logging.googleapis.com/user/${successMetricId({ clusterName: googleCloud.clusterName, namespace }, cronJob.cronJobName)}`),
            };
        const groups = pulumi
            .all([args.namespace, args.statefulSetName, args.backup?.cronJobName, args.authBootstrap?.cronJobName])
            .apply(([namespace, statefulSetName, backupJob, authJob]) =>
                alertRuleGroups({
                    namespace,
                    job: args.name,
                    statefulSetName,
                    replicas: args.replicas,
                    dataClaimNames: args.dataClaimNames,
                    dataVolumeName: args.dataVolumeName,
                    platform,
                    backup: watchedCronJob(namespace, args.backup && { cronJobName: backupJob!, intervalSeconds: args.backup.intervalSeconds }),
                    authBootstrap: watchedCronJob(namespace, args.authBootstrap && { cronJobName: authJob!, intervalSeconds: args.authBootstrap.intervalSeconds }),
                    membershipChecks: googleCloud && promqlMetricName(`logging.googleapis.com/user/${membershipMetricId({ clusterName: googleCloud.clusterName, namespace }, statefulSetName)}`),
                    runbookBaseUrl: args.runbookBaseUrl,
                }),
            );
        // The collector evaluates the groups on Prometheus series; Cloud Monitoring those on its own metrics.
        const googleCloudGroup = RULE_GROUP_NAMES["google-cloud"];
        new k8s.apiextensions.CustomResource(
            `${name}-alerts`,
            {
                ...rulesObjectType(args.flavor),
                metadata: { name: `${args.name}-alerts`, namespace: args.namespace, labels },
                spec: { groups: groups.apply((all) => all.filter((group) => group.name !== googleCloudGroup)) },
            },
            { parent: this },
        );
        if (googleCloud) {
            const where = pulumi.interpolate`${googleCloud.clusterName}/${args.namespace}`;
            for (const alert of alertNamesOn("google-cloud", watched)) {
                const rendered = groups.apply((all) => {
                    const group = all.find((g) => g.name === googleCloudGroup)!;
                    return { group, rule: group.rules.find((rule) => rule.alert === alert)! };
                });
                alertPolicy(`${name}-${alert}`, googleCloud, rendered, where, { parent: this, dependsOn: [...successMetrics, ...(membershipMetric ? [membershipMetric] : [])] });
            }
        }
        this.registerOutputs({});
    }
}
