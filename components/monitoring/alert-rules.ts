/**
 * The alert rules of the etcd cluster, in one place: what fires, at which threshold, for how long, and
 * what the person paged reads. Tune an alert here: its thresholds are documented where they are set.
 * Each alert links to its section of docs/runbooks.md.
 *
 * Each alert rests on metrics of one source (MetricSource): the members' own, scraped by the stack's
 * PodMonitoring or PodMonitor, wherever it runs; or what the platform reports about the members, which
 * differs: kube-state-metrics and the kubelet beside a Prometheus Operator's Prometheus, Google Cloud's
 * Monitoring on GKE (its system metrics, and log-based metrics the stack declares on its jobs' success
 * lines). GKE's managed collection has no CronJob or Job metrics and scrapes no kubelet unless told to,
 * so on GKE those alerts are Cloud Monitoring alert policies on Google Cloud's metrics instead.
 *
 * The tests in test/monitoring render these rules and check that each expression parses as PromQL,
 * names only metrics that etcd 3.5, kube-state-metrics, the kubelet or Google Cloud export, fires under
 * promtool where it should (and not on a healthy cluster), and carries exactly the thresholds below.
 *
 * Thresholds were set after the etcd project's own alerting mixin (contrib/mixin), adapted to a
 * three-member cluster that holds a gateway's configuration: a small database, little write traffic,
 * many long-lived watches.
 */

import { quorum } from "../etcd/cluster";

/** A CronJob whose successful runs an alert watches. */
export interface WatchedCronJob {
    readonly cronJobName: string;
    /** The longest time between two scheduled runs, in seconds. */
    readonly intervalSeconds: number;
    /** On Google Cloud: the PromQL name of the log-based metric that counts the job's success lines. */
    readonly successMetric?: string;
}

/**
 * Where an alert's metrics come from. `etcd`: the members' /metrics, on every platform. `kubernetes`:
 * kube-state-metrics and the kubelet, scraped by the same Prometheus. `google-cloud`: Cloud Monitoring,
 * queried with PromQL by Cloud Monitoring's alert policies (labels as Google names them: namespace_name ...).
 */
export type MetricSource = "etcd" | "kubernetes" | "google-cloud";

/** What reports about the members besides themselves, and what the Google Cloud metrics are selected by. */
export type PlatformMetrics = { readonly source: "kubernetes" } | { readonly source: "google-cloud"; readonly clusterName: string };

/** The CronJobs of an AlertScope that an alert may watch. */
export const CRON_JOBS = ["backup", "authBootstrap"] as const;
export type CronJobKey = (typeof CRON_JOBS)[number];

/** What the rules select: the names of one cluster's objects, as its series are labelled. */
export interface AlertScope {
    /** Namespace of the members, their claims and the CronJobs. */
    readonly namespace: string;
    /** The `job` label of the series scraped from the members (the scrape configuration's name). */
    readonly job: string;
    /** The members' StatefulSet: its pods are `<name>-<ordinal>`. */
    readonly statefulSetName: string;
    /** How many members the cluster should have. */
    readonly replicas: number;
    /** The members' PersistentVolumeClaims. */
    readonly dataClaimNames: readonly string[];
    /** The name of the data volume in the member pods (Google Cloud's volume_name). */
    readonly dataVolumeName: string;
    /** Where the alerts on what the platform reports (pods, volumes, CronJobs) get their metrics. */
    readonly platform: PlatformMetrics;
    /** The backup CronJob; without it there is no backup alert. */
    readonly backup?: WatchedCronJob;
    /** The auth bootstrap's CronJob; without it there is no auth convergence alert. */
    readonly authBootstrap?: WatchedCronJob;
    /**
     * On Google Cloud: the PromQL name of the log-based metric that counts the members' membership lines
     * (labels `registered` and `unstarted`: the counts a line names).
     */
    readonly membershipChecks?: string;
    /** Where docs/runbooks.md is read; each alert links to `<runbookBaseUrl>#<alert name in lower case>`. */
    readonly runbookBaseUrl: string;
}

/** `critical` pages someone now; `warning` is for working hours. */
export type Severity = "critical" | "warning";

/** One alerting rule as Prometheus reads it (GMP's Rules and the operator's PrometheusRule alike). */
export interface AlertingRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: { readonly severity: Severity };
    readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}

/** A Prometheus rule group. */
export interface AlertRuleGroup {
    readonly name: string;
    readonly interval: string;
    readonly rules: readonly AlertingRule[];
}

/** The label matchers the expressions are built from, each a ready `name="value"` list. */
interface Selectors {
    /** Every series scraped from the members. */
    readonly members: string;
    /** kubelet series of the members' volumes. */
    readonly dataClaims: string;
    /** kube-state-metrics series of each CronJob the scope has. */
    readonly cronJobs: Readonly<Partial<Record<CronJobKey, string>>>;
    /** Google Cloud's series of the members' data volumes (k8s_pod), on Google Cloud. */
    readonly memberVolumes?: string;
    /** Google Cloud's series of the scope's containers (k8s_container: log-based metrics), on Google Cloud. */
    readonly containers?: string;
}

/** What an expression or a description may use besides its thresholds. */
interface RuleContext {
    readonly selectors: Selectors;
    readonly scope: AlertScope;
}

type Thresholds = Readonly<Record<string, number>>;

/** One alert: its condition, its thresholds and the words a person reads when it fires. */
export interface AlertDefinition<T extends Thresholds = Thresholds> {
    readonly alert: string;
    readonly severity: Severity;
    /** How long the condition must hold before the alert fires: a duration, or seconds for the scope. */
    readonly for: string | ((context: RuleContext) => number);
    /** The values to tune; the expression compares against each of them. */
    readonly thresholds: T;
    /** Which metrics the rule reads; an alert is defined once per source it can be fed from. */
    readonly source: MetricSource;
    /** The CronJob of the scope whose runs the alert watches; a scope without it gets no such alert. */
    readonly cronJob?: CronJobKey;
    expr(thresholds: T, context: RuleContext): string;
    readonly summary: string;
    description(thresholds: T, context: RuleContext): string;
}

/** The percentile of the latency alerts: the slowest 1% of operations. */
const PERCENTILE = 0.99;

/** How often the members are scraped, and the rules evaluated. */
export const SCRAPE_INTERVAL = "30s";

/** The window of the rates and latency percentiles: ten scrapes. */
const RATE_WINDOW = "5m";

/**
 * gRPC codes that mean the server failed. Others are a client's business: `Canceled` ends every
 * watch APISIX closes, `OutOfRange` answers a read of a compacted revision (APISIX then re-reads),
 * `NotFound`, `InvalidArgument`, `PermissionDenied` are wrong requests. `ResourceExhausted` includes
 * etcd's NOSPACE: writes refused because the database reached its quota.
 */
const SERVER_FAILURE_CODES = ["Unknown", "FailedPrecondition", "ResourceExhausted", "Internal", "Unavailable", "DataLoss", "DeadlineExceeded"];

const MIB = 2 ** 20;

/** Keeps each alert's thresholds typed within the list of all alerts. */
function define<T extends Thresholds>(definition: AlertDefinition<T>): AlertDefinition {
    return definition;
}

/** p99 latency of a histogram in seconds, per member and the `by` labels. */
function p99(histogram: string, selector: string, by: readonly string[] = []): string {
    const labels = ["namespace", "job", "pod", ...by, "le"].join(", ");
    return `histogram_quantile(${PERCENTILE}, sum by (${labels}) (rate(${histogram}_bucket{${selector}}[${RATE_WINDOW}])))`;
}

/** The CronJob an alert watches, with the matcher of its series. */
function cronJobOf(key: CronJobKey, { scope, selectors }: RuleContext): WatchedCronJob & { readonly selector: string } {
    const cronJob = scope[key];
    const selector = selectors.cronJobs[key];
    if (!cronJob || !selector) {
        throw new Error(`the alert needs the ${key} CronJob`);
    }
    return { ...cronJob, selector };
}

/** What an alert on Google Cloud's metrics selects by; throws on another platform. */
function googleCloudSelector(selector: string | undefined): string {
    if (selector === undefined) throw new Error("the alert needs Google Cloud's metrics");
    return selector;
}

/** The metric that counts the success lines of the CronJob an alert watches, on Google Cloud. */
function successMetricOf(key: CronJobKey, context: RuleContext): string {
    const metric = cronJobOf(key, context).successMetric;
    if (metric === undefined) throw new Error(`the alert needs the log-based metric of the ${key} CronJob's successes`);
    return metric;
}

/** The metric that counts the membership containers' lines, on Google Cloud. */
function membershipChecksOf({ scope }: RuleContext): string {
    if (scope.membershipChecks === undefined) throw new Error("the alert needs the log-based metric of the membership lines");
    return scope.membershipChecks;
}

/** An RE2 pattern of the decimal numbers above `n` (a label value compared as a number). */
export function numbersAbove(n: number): string {
    if (!Number.isInteger(n) || n < 0 || n > 98) throw new Error(`numbersAbove takes a whole number from 0 to 98, got ${n}`);
    const tens = Math.floor(n / 10);
    const sameTens = n % 10 === 9 ? [] : [`${tens || ""}[${(n % 10) + 1}-9]`];
    const moreTens = tens === 9 ? [] : [`[${tens + 1}-9][0-9]`];
    return [...sameTens, ...moreTens, "[1-9][0-9][0-9]+"].join("|");
}

/**
 * Alerts on what the cluster registers, which etcd exports no metric of: the membership container of each
 * member logs the counts at each of its rounds (every 10 s), and Cloud Logging counts those lines by
 * the counts they name. Only on Google Cloud: a Prometheus Operator's Prometheus reads no logs.
 */
export const MEMBERSHIP_LOG_ALERTS = ["EtcdMemberNeverStarted", "EtcdMembersBeyondReplicas"] as const;

/** Time the job may take past its schedule, and the log-based metric to show it (Logging: up to 10 min). */
const RUN_AND_REPORT_SECONDS = 15 * 60;

/** An alert that no run of one of the scope's CronJobs has succeeded within `intervals` of its scheduled intervals. */
interface StaleCronJobAlert {
    readonly alert: string;
    readonly severity: Severity;
    readonly cronJob: CronJobKey;
    readonly thresholds: { readonly intervals: number };
    readonly summary: string;
    /** What a success is, as the description names it: "succeeded", "uploaded a verified backup". */
    readonly success: string;
    /** The description's last sentence: what is at risk while no run succeeds. */
    readonly consequence: string;
}

/** The alert on each platform's evidence of a CronJob's successes. */
function cronJobStale(alert: StaleCronJobAlert): AlertDefinition[] {
    return [kubernetesCronJobStale(alert), loggedCronJobStale(alert)];
}

/**
 * On kube-state-metrics' CronJob series. Three ways to have no recent success: the last one is too old;
 * there never was one since the CronJob was created; kube-state-metrics does not report the CronJob at
 * all (nothing would notice).
 */
function kubernetesCronJobStale(alert: StaleCronJobAlert): AlertDefinition {
    const { consequence, success: _, ...definition } = alert;
    return define({
        ...definition,
        // Long enough for kube-state-metrics to see a new CronJob after a deployment.
        for: "15m",
        source: "kubernetes",
        expr: (t, context) => {
            const { intervalSeconds, selector } = cronJobOf(alert.cronJob, context);
            const maxAge = t.intervals * intervalSeconds;
            const newest = (metric: string) => `max by (namespace, cronjob) (${metric}{${selector}})`;
            return (
                `time() - ${newest("kube_cronjob_status_last_successful_time")} > ${maxAge}` +
                ` or (time() - ${newest("kube_cronjob_created")} > ${maxAge} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${selector}})` +
                ` or absent(kube_cronjob_created{${selector}})`
            );
        },
        description: (t, context) => {
            const { cronJobName, intervalSeconds } = cronJobOf(alert.cronJob, context);
            return (
                `No run of CronJob ${cronJobName} has succeeded within ${humanSeconds(t.intervals * intervalSeconds)} ` +
                `(or kube-state-metrics does not report the CronJob). ${consequence}`
            );
        },
    });
}

/**
 * On Google Cloud: on the log-based metric that counts the job's success lines, which has a sample only
 * where a line was logged. "No sample within (intervals - 1) intervals" holding for one interval more (and
 * the time a run takes to show) is "none within `intervals`"; and a new stack, whose first run comes
 * within one interval, never holds it that long, so it stays quiet until then.
 */
function loggedCronJobStale(alert: StaleCronJobAlert): AlertDefinition {
    const { consequence, success, ...definition } = alert;
    return define({
        ...definition,
        source: "google-cloud",
        for: (context) => cronJobOf(alert.cronJob, context).intervalSeconds + RUN_AND_REPORT_SECONDS,
        expr: (t, context) => {
            const { intervalSeconds } = cronJobOf(alert.cronJob, context);
            const metric = successMetricOf(alert.cronJob, context);
            return `absent_over_time(${metric}{${googleCloudSelector(context.selectors.containers)}}[${humanSeconds((t.intervals - 1) * intervalSeconds)}])`;
        },
        description: (t, context) => {
            const { cronJobName, intervalSeconds } = cronJobOf(alert.cronJob, context);
            return `No run of CronJob ${cronJobName} has ${success} within ${humanSeconds(t.intervals * intervalSeconds)} (by its log lines). ${consequence}`;
        },
    });
}

/** The alert that a member's volume is nearly full, from the kubelet's volume stats or from Google Cloud's. */
function volumeNearlyFull(alert: { readonly alert: string; readonly thresholds: { readonly availableRatio: number } }): AlertDefinition[] {
    const common = { ...alert, severity: "warning", for: "10m", summary: "An etcd member's volume is nearly full." } as const;
    return [
        define({
            ...common,
            source: "kubernetes",
            expr: (t, { selectors }) =>
                `kubelet_volume_stats_available_bytes{${selectors.dataClaims}} / kubelet_volume_stats_capacity_bytes{${selectors.dataClaims}} < ${t.availableRatio}`,
            description: () => "Only {{ $value | humanizePercentage }} of volume {{ $labels.persistentvolumeclaim }} is free.",
        }),
        define({
            ...common,
            // GKE's system metric of each pod volume's used share (k8s_pod, label volume_name).
            source: "google-cloud",
            expr: (t, { selectors }) => `1 - kubernetes_io:pod_volume_utilization{${googleCloudSelector(selectors.memberVolumes)}} < ${t.availableRatio}`,
            description: (t) => `Less than ${t.availableRatio * 100}% of a member's data volume is free.`,
        }),
    ];
}

/** Members that answer their scrapes, 0 when none does (`count` of nothing is nothing, not 0). */
const membersUp = ({ selectors }: RuleContext) => `(count(up{${selectors.members}} == 1) or vector(0))`;

export const ETCD_ALERTS: readonly AlertDefinition[] = [
    define({
        alert: "EtcdMemberDown",
        severity: "critical",
        // Long enough for a rolling update or a node upgrade to bring a member back on its disk.
        for: "10m",
        thresholds: {},
        source: "etcd",
        // A member that cannot be scraped reports up == 0; a member whose pod is gone or Pending has no
        // target at all, so fewer members than there should be answer.
        expr: (_, context) =>
            `up{${context.selectors.members}} == 0 or on () ${membersUp(context)} < ${context.scope.replicas}`,
        summary: "An etcd member is down.",
        description: (_, { scope }) =>
            `{{ if $labels.pod }}Member {{ $labels.pod }} does not answer its metrics scrape.{{ else }}Only {{ $value }} of ${scope.replicas} members answer their metrics scrape.{{ end }} ` +
            "The cluster serves while a majority answers, with less room for another failure.",
    }),
    define({
        alert: "EtcdInsufficientMembers",
        severity: "critical",
        for: "2m",
        thresholds: {},
        source: "etcd",
        // Fewer members up than a majority: etcd refuses every write and every linearizable read.
        expr: (_, context) => `${membersUp(context)} < ${quorum(context.scope.replicas)}`,
        summary: "The etcd cluster has lost quorum.",
        description: (_, { scope }) =>
            `Only {{ $value }} of ${scope.replicas} members answer; ${quorum(scope.replicas)} are needed. ` +
            "APISIX keeps its last configuration but cannot read or write changes.",
    }),
    define({
        alert: "EtcdNoLeader",
        severity: "critical",
        // An election takes about a second; a minute without a leader is not an election.
        for: "1m",
        thresholds: {},
        source: "etcd",
        expr: (_, { selectors }) => `etcd_server_has_leader{${selectors.members}} == 0`,
        summary: "An etcd member has no leader.",
        description: () => "Member {{ $labels.pod }} sees no leader: it refuses writes and linearizable reads.",
    }),
    define({
        alert: "EtcdLearnerNotPromoted",
        severity: "warning",
        // A learner catches up from a snapshot in seconds to minutes; its membership container promotes it then.
        for: "15m",
        thresholds: {},
        source: "etcd",
        expr: (_, { selectors }) => `etcd_server_is_learner{${selectors.members}} == 1`,
        summary: "An etcd member stays a learner.",
        description: () =>
            "Member {{ $labels.pod }} joined as a learner and has not been promoted: it does not vote, and no other member can join meanwhile (etcd takes one learner at a time).",
    }),
    define({
        alert: "EtcdFrequentLeaderChanges",
        severity: "warning",
        for: "5m",
        thresholds: {
            /**
             * Leader changes within an hour. Each costs a second or two of refused writes; several an
             * hour mean members miss heartbeats (slow disk, CPU starvation, network). `>=` because
             * increase() extrapolates a little above whole numbers.
             */
            changesPerHour: 4,
        },
        source: "etcd",
        expr: (t, { selectors }) =>
            `max by (namespace, job) (increase(etcd_server_leader_changes_seen_total{${selectors.members}}[1h])) >= ${t.changesPerHour}`,
        summary: "The etcd cluster keeps changing its leader.",
        description: () => "{{ $value | humanize }} leader changes within the last hour.",
    }),
    define({
        alert: "EtcdFailedGrpcRequests",
        severity: "warning",
        for: "10m",
        thresholds: {
            /**
             * Share of a member's unary requests of one method that fail on the server's side. APISIX
             * sends few requests, so a handful of failures is already a percent; 5% is a pattern.
             */
            failedRatio: 0.05,
        },
        source: "etcd",
        expr: (t, { selectors }) => {
            const requests = (codes: string) =>
                `sum by (namespace, job, pod, grpc_service, grpc_method) (rate(grpc_server_handled_total{${selectors.members}, grpc_type="unary"${codes}}[${RATE_WINDOW}]))`;
            return `${requests(`, grpc_code=~"${SERVER_FAILURE_CODES.join("|")}"`)} / ${requests("")} > ${t.failedRatio}`;
        },
        summary: "etcd fails gRPC requests.",
        description: () => "{{ $value | humanizePercentage }} of {{ $labels.grpc_method }} requests to member {{ $labels.pod }} fail.",
    }),
    define({
        alert: "EtcdSlowGrpcRequests",
        severity: "warning",
        for: "10m",
        thresholds: {
            /**
             * p99 of unary request latency, seconds. Reads and writes of a healthy cluster take
             * milliseconds; Defragment, which takes seconds by design, is left out.
             */
            p99Seconds: 0.15,
        },
        source: "etcd",
        expr: (t, { selectors }) =>
            `${p99("grpc_server_handling_seconds", `${selectors.members}, grpc_type="unary", grpc_method!="Defragment"`, ["grpc_service", "grpc_method"])} > ${t.p99Seconds}`,
        summary: "etcd answers gRPC requests slowly.",
        description: () => "p99 latency of {{ $labels.grpc_method }} on member {{ $labels.pod }} is {{ $value | humanizeDuration }}.",
    }),
    define({
        alert: "EtcdSlowPeerCommunication",
        severity: "warning",
        for: "10m",
        thresholds: {
            /**
             * p99 round trip to a peer, seconds. Within a GKE region it is around a millisecond; at
             * 0.15 s heartbeats (every 100 ms) arrive late and elections start.
             */
            p99Seconds: 0.15,
        },
        source: "etcd",
        expr: (t, { selectors }) => `${p99("etcd_network_peer_round_trip_time_seconds", selectors.members, ["To"])} > ${t.p99Seconds}`,
        summary: "etcd members reach each other slowly.",
        description: () => "p99 round trip from member {{ $labels.pod }} to peer {{ $labels.To }} is {{ $value | humanizeDuration }}.",
    }),
    define({
        alert: "EtcdFailedProposals",
        severity: "warning",
        for: "5m",
        thresholds: {
            /**
             * Failed Raft proposals within 15 minutes. An election fails the few proposals in flight;
             * more mean the cluster keeps losing its leader or quorum. `>=`: increase() extrapolates.
             */
            failuresPer15Minutes: 5,
        },
        source: "etcd",
        expr: (t, { selectors }) => `increase(etcd_server_proposals_failed_total{${selectors.members}}[15m]) >= ${t.failuresPer15Minutes}`,
        summary: "etcd fails Raft proposals.",
        description: () => "Member {{ $labels.pod }} failed {{ $value | humanize }} proposals within 15 minutes.",
    }),
    define({
        alert: "EtcdSlowWalFsync",
        severity: "warning",
        for: "10m",
        thresholds: {
            /**
             * p99 of the WAL fsync, seconds. A write is acknowledged only after it; etcd wants it
             * below 10 ms, and at 0.5 s a member misses heartbeats and triggers elections.
             */
            p99Seconds: 0.5,
        },
        source: "etcd",
        expr: (t, { selectors }) => `${p99("etcd_disk_wal_fsync_duration_seconds", selectors.members)} > ${t.p99Seconds}`,
        summary: "etcd's disk syncs its log slowly.",
        description: () => "p99 WAL fsync on member {{ $labels.pod }} is {{ $value | humanizeDuration }}.",
    }),
    define({
        alert: "EtcdSlowBackendCommit",
        severity: "warning",
        for: "10m",
        thresholds: {
            /** p99 of the database commit, seconds; etcd wants it below 25 ms. */
            p99Seconds: 0.25,
        },
        source: "etcd",
        expr: (t, { selectors }) => `${p99("etcd_disk_backend_commit_duration_seconds", selectors.members)} > ${t.p99Seconds}`,
        summary: "etcd's disk commits the database slowly.",
        description: () => "p99 backend commit on member {{ $labels.pod }} is {{ $value | humanizeDuration }}.",
    }),
    define({
        alert: "EtcdDatabaseNearQuota",
        // At the quota etcd raises NOSPACE and refuses every write until someone compacts,
        // defragments and disarms the alarm: the one failure here that does not heal by itself.
        severity: "critical",
        for: "10m",
        thresholds: {
            /** Size of the database file as a share of `--quota-backend-bytes`. */
            usedRatio: 0.8,
        },
        source: "etcd",
        expr: (t, { selectors }) =>
            `etcd_mvcc_db_total_size_in_bytes{${selectors.members}} / etcd_server_quota_backend_bytes{${selectors.members}} > ${t.usedRatio}`,
        summary: "etcd's database is close to its quota.",
        description: () => "The database of member {{ $labels.pod }} fills {{ $value | humanizePercentage }} of its quota; at 100% etcd refuses all writes.",
    }),
    define({
        alert: "EtcdDatabaseFragmented",
        severity: "warning",
        // Fragmentation grows slowly and a defragmentation is routine work, never urgent.
        for: "30m",
        thresholds: {
            /** Share of the database file that is free pages, reclaimed only by a defragmentation. */
            freeRatio: 0.5,
            /** Below this size a fragmented database costs nothing worth a defragmentation, bytes. */
            minimumBytes: 100 * MIB,
        },
        source: "etcd",
        expr: (t, { selectors }) => {
            const size = `etcd_mvcc_db_total_size_in_bytes{${selectors.members}}`;
            return `(${size} - etcd_mvcc_db_total_size_in_use_in_bytes{${selectors.members}}) / ${size} > ${t.freeRatio} and ${size} > ${t.minimumBytes}`;
        },
        summary: "etcd's database is fragmented.",
        description: () => "{{ $value | humanizePercentage }} of the database file of member {{ $labels.pod }} is free space that only a defragmentation returns.",
    }),
    define({
        alert: "EtcdContainerRestarts",
        severity: "warning",
        // The hour-long window already is the confirmation.
        for: "0m",
        thresholds: {
            /**
             * Restarts of a member's container within an hour (crash, OOM kill, failed liveness
             * probe). One can be a fluke; two are a pattern. `>=`: increase() extrapolates.
             */
            restartsPerHour: 2,
        },
        // etcd's own start time, scraped with its metrics: every platform has it. A container restart keeps
        // the pod and its address, so the series goes on and changes value.
        source: "etcd",
        expr: (t, { selectors }) => `changes(process_start_time_seconds{${selectors.members}}[1h]) >= ${t.restartsPerHour}`,
        summary: "An etcd member keeps restarting.",
        description: () => "etcd in {{ $labels.pod }} restarted {{ $value | humanize }} times within the last hour.",
    }),
    ...volumeNearlyFull({
        alert: "EtcdVolumeNearlyFull",
        thresholds: {
            /**
             * Free share of a member's volume. The volume holds the database (up to its quota), the
             * WAL, and during a defragmentation a second copy of the database: it must never fill.
             */
            availableRatio: 0.2,
        },
    }),
    ...cronJobStale({
        alert: "EtcdBackupStale",
        severity: "warning",
        cronJob: "backup",
        thresholds: {
            /** The newest successful backup may be this many scheduled intervals old: one missed run is tolerated. */
            intervals: 2,
        },
        summary: "No recent etcd backup.",
        success: "uploaded a verified backup",
        consequence: "A restore would lose the changes since the newest backup.",
    }),
    ...cronJobStale({
        alert: "EtcdAuthConvergenceStale",
        severity: "warning",
        cronJob: "authBootstrap",
        thresholds: {
            /**
             * The newest successful convergence of users, roles and passwords may be this many scheduled
             * intervals old. One or two failed runs can have a passing cause (members unreachable for
             * longer than a run waits, a node upgrade) that the next run repairs; a third is a cause that
             * does not heal, commonly root's password after a restore. One more than the backup's: a late
             * convergence loses no data, and at the hourly default it still reports within 3 hours.
             */
            intervals: 3,
        },
        summary: "etcd's users and passwords are not converged.",
        success: "converged the users",
        consequence: "After a restore or a password change, etcd may refuse APISIX or the jobs with the passwords of their Secrets.",
    }),
    define({
        alert: "EtcdMemberNeverStarted",
        severity: "warning",
        // A joining member starts seconds after its registration; its pod may wait for a node a few minutes.
        for: "15m",
        thresholds: {},
        source: "google-cloud",
        expr: (_, context) =>
            `sum by (cluster_name, namespace_name) (count_over_time(${membershipChecksOf(context)}{${googleCloudSelector(context.selectors.containers)}, unstarted!="0"}[2m])) > 0`,
        summary: "An etcd member is registered but never started.",
        description: () =>
            "The cluster lists a member that was added and never started (the membership containers' lines say unstarted > 0): " +
            "no other member can join meanwhile, and as a voting registration it counts towards the quorum without voting.",
    }),
    define({
        alert: "EtcdMembersBeyondReplicas",
        severity: "warning",
        // Longer than a scale-down: the Job removes the members beyond replicas before the StatefulSet shrinks.
        for: "15m",
        thresholds: {},
        source: "google-cloud",
        expr: (_, context) =>
            `sum by (cluster_name, namespace_name) (count_over_time(${membershipChecksOf(context)}{${googleCloudSelector(context.selectors.containers)}, registered=~${quote(numbersAbove(context.scope.replicas))}}[2m])) > 0`,
        summary: "etcd registers more members than replicas.",
        description: (_, { scope }) =>
            `The cluster lists more than ${scope.replicas} members (the membership containers' lines): a member beyond replicas that was not removed counts towards the quorum, ` +
            "so losing fewer pods than expected can stop writes.",
    }),
];

/** "12h", "90m", "45s": a duration as a person reads it in a description. */
function humanSeconds(seconds: number): string {
    if (seconds % 3600 === 0) return `${seconds / 3600}h`;
    if (seconds % 60 === 0) return `${seconds / 60}m`;
    return `${seconds}s`;
}

/** A PromQL string literal (Go's escapes, which JSON's are a subset of). */
const quote = (value: string) => JSON.stringify(value);
const escapeRegex = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function selectorsOf(scope: AlertScope): Selectors {
    const namespace = `namespace=${quote(scope.namespace)}`;
    const onGoogleCloud =
        scope.platform.source === "google-cloud" &&
        `cluster_name=${quote(scope.platform.clusterName)}, namespace_name=${quote(scope.namespace)}`;
    return {
        members: `${namespace}, job=${quote(scope.job)}`,
        dataClaims: `${namespace}, persistentvolumeclaim=~${quote(scope.dataClaimNames.map(escapeRegex).join("|"))}`,
        cronJobs: Object.fromEntries(
            CRON_JOBS.flatMap((key) => {
                const cronJob = scope[key];
                return cronJob ? [[key, `${namespace}, cronjob=${quote(cronJob.cronJobName)}`]] : [];
            }),
        ),
        ...(onGoogleCloud && {
            memberVolumes:
                `monitored_resource="k8s_pod", ${onGoogleCloud}, pod_name=~${quote(`${escapeRegex(scope.statefulSetName)}-[0-9]+`)}, ` +
                `volume_name=${quote(scope.dataVolumeName)}`,
            containers: `monitored_resource="k8s_container", ${onGoogleCloud}`,
        }),
    };
}

/**
 * The alerts that apply to `scope`: those on the members' own metrics and on its platform's, less each
 * that watches a CronJob the scope does not have.
 */
export function alertsFor(scope: AlertScope): readonly AlertDefinition[] {
    const cronJobs = CRON_JOBS.filter((key) => scope[key] !== undefined);
    return ETCD_ALERTS.filter((definition) => (definition.source === "etcd" || definition.source === scope.platform.source) && watchesOneOf(definition, cronJobs));
}

/** Whether `definition` watches no CronJob, or one of `cronJobs`. */
const watchesOneOf = (definition: AlertDefinition, cronJobs: readonly CronJobKey[]) => definition.cronJob === undefined || cronJobs.includes(definition.cronJob);

/** The names of the alerts on `source`'s metrics for a scope with `cronJobs`, in the order they are rendered. */
export function alertNamesOn(source: MetricSource, cronJobs: readonly CronJobKey[]): string[] {
    return ETCD_ALERTS.filter((definition) => definition.source === source && watchesOneOf(definition, cronJobs)).map((definition) => definition.alert);
}

/** The alerting rule of one alert, rendered for `scope`. */
function alertingRule(definition: AlertDefinition, scope: AlertScope): AlertingRule {
    const context = { scope, selectors: selectorsOf(scope) };
    return {
        alert: definition.alert,
        expr: definition.expr(definition.thresholds, context),
        for: typeof definition.for === "string" ? definition.for : humanSeconds(definition.for(context)),
        labels: { severity: definition.severity },
        annotations: {
            summary: definition.summary,
            description: definition.description(definition.thresholds, context),
            runbook_url: `${scope.runbookBaseUrl}#${definition.alert.toLowerCase()}`,
        },
    };
}

/** The rule group of each source, by the name it is evaluated under. */
export const RULE_GROUP_NAMES: Readonly<Record<MetricSource, string>> = {
    etcd: "etcd",
    kubernetes: "etcd-kubernetes",
    "google-cloud": "etcd-google-cloud",
};

/**
 * The rule groups for `scope`: the alerts on the members' own metrics, and those on what the platform
 * reports about the members. A Prometheus evaluates the `etcd` and `etcd-kubernetes` groups; the
 * `etcd-google-cloud` group is PromQL for Cloud Monitoring's alert policies, one per rule.
 */
export function alertRuleGroups(scope: AlertScope): AlertRuleGroup[] {
    const alerts = alertsFor(scope);
    return (["etcd", scope.platform.source] as const).map((source) => ({
        name: RULE_GROUP_NAMES[source],
        interval: SCRAPE_INTERVAL,
        rules: alerts.filter((definition) => definition.source === source).map((definition) => alertingRule(definition, scope)),
    }));
}
