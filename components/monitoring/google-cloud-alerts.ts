/**
 * The alerts on Google Cloud's metrics, as Cloud Monitoring holds them: one alert policy per rule of the
 * `etcd-google-cloud` group, its PromQL condition evaluated by Cloud Monitoring (which, unlike a namespaced
 * GMP Rules object, sees Google Cloud's system and log-based metrics); and the log-based metrics that
 * count a job's success lines, so that "no success" is a metric without data.
 */
import * as logging from "@pulumi/gcp/logging";
import * as monitoring from "@pulumi/gcp/monitoring";
import * as pulumi from "@pulumi/pulumi";
import { AlertingRule, AlertRuleGroup, SCRAPE_INTERVAL } from "./alert-rules";

/** A job's success, as its container logs it. */
export interface SuccessLog {
    /** The container that logs the line. */
    readonly container: string;
    /** An RE2 regular expression that a success line matches, anchored at its start. */
    readonly line: pulumi.Input<string>;
}

/** Where the log lines of the stack's pods are: a GKE cluster's namespace, in a project. */
export interface LogScope {
    readonly project: string;
    readonly clusterName: string;
    readonly namespace: pulumi.Input<string>;
}

/** `logging.googleapis.com/user/a/b-c` -> `logging_googleapis_com:user_a_b_c`, as Cloud Monitoring names it in PromQL. */
export function promqlMetricName(metricType: string): string {
    const slash = metricType.indexOf("/");
    const clean = (text: string) => text.replace(/[^A-Za-z0-9_]/g, "_");
    return `${clean(metricType.slice(0, slash))}:${clean(metricType.slice(slash + 1))}`;
}

/** The id of the log-based metric counting the successes of `jobName` in `scope`: unique per cluster and namespace. */
export function successMetricId(scope: { readonly clusterName: string; readonly namespace: string }, jobName: string): string {
    return `apisix-etcd/${scope.clusterName}/${scope.namespace}/${jobName}/succeeded`;
}

/** The id of the log-based metric counting the membership lines of the members of `statefulSetName` in `scope`. */
export function membershipMetricId(scope: { readonly clusterName: string; readonly namespace: string }, statefulSetName: string): string {
    return `apisix-etcd/${scope.clusterName}/${scope.namespace}/${statefulSetName}/membership-checks`;
}

/** A Logging query string literal. */
const quoted = (text: string) => JSON.stringify(text);

/** The Logging filter of the lines matching `line` of `container` in the pods whose names match `podPattern` (RE2) in `scope`. */
function containerLines(scope: LogScope, namespace: string, podPattern: string, container: string, line: string): string {
    return [
        'resource.type="k8s_container"',
        `resource.labels.cluster_name=${quoted(scope.clusterName)}`,
        `resource.labels.namespace_name=${quoted(namespace)}`,
        `resource.labels.pod_name=~${quoted(podPattern)}`,
        `resource.labels.container_name=${quoted(container)}`,
        `textPayload=~${quoted(line)}`,
    ].join("\n");
}

/** What one counter of log lines counts: the lines `log` of the pods of a workload, by name (RE2) in a scope. */
interface CountedLines {
    readonly scope: LogScope;
    readonly workload: pulumi.Input<string>;
    readonly log: SuccessLog;
    readonly id: (scope: { readonly clusterName: string; readonly namespace: string }, workload: string) => string;
    readonly description: pulumi.Input<string>;
    readonly podPattern: (workload: string) => string;
}

/** A DELTA counter of the lines, with `labels` extracted from each (`<label>=<digits>` in the line). */
function lineCountMetric(name: string, lines: CountedLines, labels: readonly string[], opts: pulumi.CustomResourceOptions): logging.Metric {
    const { scope, log } = lines;
    const fields = pulumi.all([scope.namespace, lines.workload, log.line]);
    return new logging.Metric(
        name,
        {
            project: scope.project,
            name: fields.apply(([namespace, workload]) => lines.id({ clusterName: scope.clusterName, namespace }, workload)),
            description: lines.description,
            filter: fields.apply(([namespace, workload, line]) => containerLines(scope, namespace, lines.podPattern(workload), log.container, line)),
            ...(labels.length > 0 ? { labelExtractors: Object.fromEntries(labels.map((label) => [label, `REGEXP_EXTRACT(textPayload, ${quoted(` ${label}=([0-9]+)`)})`])) } : {}),
            metricDescriptor: {
                metricKind: "DELTA",
                valueType: "INT64",
                unit: "1",
                ...(labels.length > 0 ? { labels: labels.map((key) => ({ key, valueType: "STRING", description: `The ${key} count the line names` })) } : {}),
            },
        },
        opts,
    );
}

const escapeDots = (name: string) => name.replace(/\./g, "[.]");

/**
 * A counter of the success lines of the pods of the Job or CronJob `jobName` (pods `<jobName>-...`).
 * Cloud Logging counts the lines received after the metric exists, and writes no point where none matched.
 */
export function successLogMetric(
    name: string,
    scope: LogScope,
    jobName: pulumi.Input<string>,
    log: SuccessLog,
    opts: pulumi.CustomResourceOptions,
): logging.Metric {
    const description = pulumi.interpolate`Success lines of the pods of ${jobName} (apisix-etcd's alerts)`;
    return lineCountMetric(name, { scope, workload: jobName, log, id: successMetricId, description, podPattern: (job) => `^${escapeDots(job)}-` }, [], opts);
}

/** The counts a membership line names that its metric keeps as labels, each `<name>=<digits>` in the line. */
export const MEMBERSHIP_COUNT_LABELS = ["registered", "unstarted"] as const;

/**
 * A counter of the lines `log` of the members of the StatefulSet `statefulSetName` (pods `<name>-<ordinal>`),
 * labelled with the counts each names (MEMBERSHIP_COUNT_LABELS), so that an alert selects the lines by them.
 */
export function membershipLogMetric(
    name: string,
    scope: LogScope,
    statefulSetName: pulumi.Input<string>,
    log: SuccessLog,
    opts: pulumi.CustomResourceOptions,
): logging.Metric {
    const description = pulumi.interpolate`Membership lines of the members of ${statefulSetName}, by the counts they name (apisix-etcd's alerts)`;
    const podPattern = (statefulSet: string) => `^${escapeDots(statefulSet)}-[0-9]+$`;
    return lineCountMetric(name, { scope, workload: statefulSetName, log, id: membershipMetricId, description, podPattern }, MEMBERSHIP_COUNT_LABELS, opts);
}

/** Seconds in a Prometheus duration as the rules write them ("10m", "375m", "6h"). */
function durationSeconds(duration: string): number {
    const match = /^(\d+)([smh])$/.exec(duration);
    if (!match) throw new Error(`unexpected rule duration ${JSON.stringify(duration)}`);
    return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

/** The alert policy of one rule: its PromQL, `for` and labels as Prometheus would take them, its annotations as the policy's documentation. */
export function alertPolicy(
    name: string,
    { project, notificationChannels }: { readonly project: string; readonly notificationChannels: readonly string[] },
    rendered: pulumi.Output<{ readonly group: AlertRuleGroup; readonly rule: AlertingRule }>,
    where: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): monitoring.AlertPolicy {
    const rule = rendered.apply(({ rule }) => rule);
    return new monitoring.AlertPolicy(
        name,
        {
            project,
            displayName: pulumi.interpolate`${rule.alert} (${where})`,
            combiner: "OR",
            notificationChannels: [...notificationChannels],
            severity: rule.labels.severity.apply((severity) => (severity === "critical" ? "CRITICAL" : "WARNING")),
            conditions: [
                {
                    displayName: rule.annotations.summary,
                    conditionPrometheusQueryLanguage: {
                        query: rule.expr,
                        duration: rule.for.apply((duration) => `${durationSeconds(duration)}s`),
                        evaluationInterval: SCRAPE_INTERVAL,
                        alertRule: rule.alert,
                        ruleGroup: rendered.apply(({ group }) => group.name),
                        labels: rule.labels,
                        // A log-based metric has no data (and, just created, may have no descriptor) before its first line.
                        disableMetricValidation: rule.expr.apply((expr) => expr.includes("logging_googleapis_com:user_")),
                    },
                },
            ],
            documentation: {
                subject: rule.annotations.summary,
                content: pulumi.interpolate`${rule.annotations.description}\n\nRunbook: ${rule.annotations.runbook_url}`,
                mimeType: "text/markdown",
            },
        },
        opts,
    );
}
