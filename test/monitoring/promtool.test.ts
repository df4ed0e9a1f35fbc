/**
 * The rendered alert rules under Prometheus' own promtool: `check rules` accepts the file, and
 * `test rules` replays series of a healthy and of a failing cluster through them and checks which
 * alerts fire, on each platform: with kube-state-metrics and the kubelet (a Prometheus Operator), and
 * with Google Cloud's metrics (GKE: the `etcd-google-cloud` group is the PromQL of Cloud Monitoring's
 * alert policies, replayed here with Cloud Monitoring's metric and label names). The failing series are
 * derived from the thresholds in alert-rules.ts (just past each), so a tuned threshold keeps its test
 * meaningful.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { alertRuleGroups, AlertScope, ETCD_ALERTS, MEMBERSHIP_LOG_ALERTS } from "../../components/monitoring/alert-rules";
import { promtoolBinary } from "../etcd/binaries";
import { OPERATOR_SCOPE, PROD_SCOPE } from "./alert-scope";

// Two platforms' scenarios, each a promtool run of seconds alone; far longer on a machine busy with the other suites.
jest.setTimeout(300_000);

type Platform = AlertScope["platform"]["source"];
const PLATFORMS: readonly Platform[] = ["kubernetes", "google-cloud"];

/**
 * The prod stack's names, with a backup every half hour and the auth bootstrap every quarter hour, so that
 * the CronJob scenarios are as short as the others (and their alerts go stale at different times).
 */
const shortIntervals = (base: AlertScope): AlertScope => ({
    ...base,
    backup: { ...base.backup!, intervalSeconds: 1800 },
    authBootstrap: { ...base.authBootstrap!, intervalSeconds: 900 },
});
const SCOPES: Readonly<Record<Platform, AlertScope>> = { kubernetes: shortIntervals(OPERATOR_SCOPE), "google-cloud": shortIntervals(PROD_SCOPE) };
/** The names both platforms share. */
const scope = SCOPES["google-cloud"];
const GOOGLE_CLOUD = { cluster_name: "apisix-prod", namespace_name: scope.namespace };
/** Each alert on a CronJob's successes, and the CronJob it watches. */
const CRON_JOB_ALERTS = [
    { alert: "EtcdBackupStale", cronJob: scope.backup! },
    { alert: "EtcdAuthConvergenceStale", cronJob: scope.authBootstrap! },
];
const GIB = 2 ** 30;
const QUOTA_BYTES = 4 * GIB;
const VOLUME_BYTES = 20 * GIB;
/** The test's samples are a minute apart; faults start here, after the rate windows have filled with healthy data. */
const FAULT_MINUTE = 10;
/** The rate and percentile window of the rules, in minutes. */
const RATE_WINDOW_MINUTES = 5;

function threshold(alert: string, name: string): number {
    const definition = ETCD_ALERTS.find((d) => d.alert === alert);
    const value = definition?.thresholds[name];
    if (value === undefined) throw new Error(`alert-rules.ts has no threshold ${alert}.${name}`);
    return value;
}

/** Halfway between a threshold ratio and 1: clearly past the threshold, still a possible ratio. */
const pastRatio = (ratio: number) => (ratio + 1) / 2;

type Labels = Record<string, string>;
const seriesName = (metric: string, labels: Labels) =>
    `${metric}{${Object.entries(labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(",")}}`;

/** promtool's expanding notation: `<value>` for `minutes + 1` samples, or `<start>+<step>` per sample. */
const constant = (value: number, minutes: number) => `${value}x${minutes}`;
const growing = (perMinute: number, minutes: number) => `0+${perMinute}x${minutes}`;
/** `before` up to the fault, `after` from there on. */
const fromFault = (before: number, after: number, minutes: number) => `${before}x${FAULT_MINUTE - 1} ${after}x${minutes - FAULT_MINUTE}`;
/** A counter that is flat, then goes up by one at each of `minutesOfIncrease`. */
function increments(minutesOfIncrease: readonly number[], minutes: number): string {
    return Array.from({ length: minutes + 1 }, (_, minute) => minutesOfIncrease.filter((m) => m <= minute).length).join(" ");
}

/** Minutes in a duration such as "10m" or "1h". */
function minutesOf(duration: string): number {
    const match = /^(\d+)([smh])$/.exec(duration);
    if (!match) throw new Error(`unexpected duration ${duration}`);
    return Number(match[1]) * { s: 1 / 60, m: 1, h: 60 }[match[2] as "s" | "m" | "h"];
}
/** The `for` of `alert` as rendered on `platform`, in minutes. */
const forOf = (alert: string, platform: Platform = "kubernetes") =>
    minutesOf(alertRuleGroups(SCOPES[platform]).flatMap((g) => g.rules).find((r) => r.alert === alert)!.for);

/** The requests of the healthy cluster's gRPC series. */
const RANGE_CALLS = { grpc_type: "unary", grpc_service: "etcdserverpb.KV", grpc_method: "Range" };

/**
 * The series of one cluster, grouped in families (one metric of one member, a histogram's buckets
 * together, one Kubernetes series) so that a scenario can replace or remove a family.
 */
class Cluster {
    readonly families = new Map<string, { series: string; values: string }[]>();
    readonly pods = Array.from({ length: scope.replicas }, (_, i) => `${scope.statefulSetName}-${i}`);

    constructor(readonly minutes: number) {
        for (const [index, pod] of this.pods.entries()) {
            this.member(pod, "up", constant(1, minutes));
            this.member(pod, "etcd_server_has_leader", constant(1, minutes));
            this.member(pod, "etcd_server_is_learner", constant(0, minutes));
            this.member(pod, "etcd_server_leader_changes_seen_total", constant(1, minutes));
            this.member(pod, "etcd_server_proposals_failed_total", constant(0, minutes));
            this.member(pod, "grpc_server_handled_total", growing(60, minutes), { ...RANGE_CALLS, grpc_code: "OK" });
            this.databaseSize(pod, 50 * 2 ** 20, 50 * 2 ** 20);
            this.member(pod, "etcd_server_quota_backend_bytes", constant(QUOTA_BYTES, minutes));
            this.latency(pod, "grpc_server_handling_seconds", threshold("EtcdSlowGrpcRequests", "p99Seconds") / 2, RANGE_CALLS);
            this.latency(pod, "etcd_network_peer_round_trip_time_seconds", threshold("EtcdSlowPeerCommunication", "p99Seconds") / 2, { To: `peer-of-${index}` });
            this.latency(pod, "etcd_disk_wal_fsync_duration_seconds", threshold("EtcdSlowWalFsync", "p99Seconds") / 2);
            this.latency(pod, "etcd_disk_backend_commit_duration_seconds", threshold("EtcdSlowBackendCommit", "p99Seconds") / 2);
            // Started long ago, and not since.
            this.member(pod, "process_start_time_seconds", constant(-86_400, minutes));
        }
        for (const [index, claim] of scope.dataClaimNames.entries()) {
            this.volume(claim, this.pods[index], VOLUME_BYTES / 2);
        }
        for (const { cronJob } of CRON_JOB_ALERTS) {
            this.kubernetes(`created@${cronJob.cronJobName}`, "kube_cronjob_created", constant(0, minutes), { cronjob: cronJob.cronJobName });
            // Each sample says the last run succeeded just now.
            this.lastSuccess(cronJob.cronJobName, growing(60, minutes));
            // A run at time 0 and at every interval, each logging its success line.
            this.successLines(cronJob.cronJobName, Array.from({ length: Math.floor(minutes / (cronJob.intervalSeconds / 60)) + 1 }, (_, i) => (i * cronJob.intervalSeconds) / 60));
        }
        this.membershipLines({ registered: scope.replicas, unstarted: 0 });
    }

    /**
     * The log-based metric of the members' membership lines: each member logs the counts at every round, so
     * each minute has points of the series labelled with the counts: `counts` from `fromMinute` until
     * `untilMinute`, the healthy counts elsewhere.
     */
    membershipLines(counts: { registered: number; unstarted: number }, fromMinute = 0, untilMinute = Infinity): this {
        const healthy = { registered: scope.replicas, unstarted: 0 };
        const minutes = Array.from({ length: this.minutes + 1 }, (_, minute) => minute);
        const inWindow = (m: number) => m >= fromMinute && m < untilMinute;
        const series = (labels: typeof healthy, logged: (minute: number) => boolean) =>
            this.pods.map((pod) => ({
                series: seriesName(scope.membershipChecks!, { monitored_resource: "k8s_container", ...GOOGLE_CLOUD, pod_name: pod, container_name: "membership", registered: String(labels.registered), unstarted: String(labels.unstarted) }),
                values: minutes.map((m) => (logged(m) ? "6" : "_")).join(" "),
            }));
        const isHealthy = counts.registered === healthy.registered && counts.unstarted === healthy.unstarted;
        this.families.set("membershipLines", isHealthy ? series(healthy, () => true) : [...series(healthy, (m) => !inWindow(m)), ...series(counts, inWindow)]);
        return this;
    }

    /** One series scraped from member `pod`, added to the family `<metric>@<pod>` (replacing it with `replace`). */
    member(pod: string, metric: string, values: string, labels: Labels = {}, { replace = true, family = `${metric}@${pod}` } = {}): this {
        const series = seriesName(metric, { namespace: scope.namespace, job: scope.job, pod, instance: `${pod}:metrics`, ...labels });
        this.families.set(family, [...(replace ? [] : this.families.get(family) ?? []), { series, values }]);
        return this;
    }

    /** A latency histogram of member `pod` whose observations lie between `seconds / 2` and `seconds`: its p99 is just under `seconds`. */
    latency(pod: string, metric: string, seconds: number, labels: Labels = {}): this {
        const family = `${metric}@${pod}`;
        this.families.delete(family);
        for (const [le, perMinute] of [[String(seconds / 2), 0], [String(seconds), 10], ["+Inf", 10]] as const) {
            this.member(pod, `${metric}_bucket`, growing(perMinute, this.minutes), { ...labels, le }, { replace: false, family });
        }
        return this;
    }

    databaseSize(pod: string, totalBytes: number, inUseBytes: number): this {
        this.member(pod, "etcd_mvcc_db_total_size_in_bytes", constant(totalBytes, this.minutes));
        return this.member(pod, "etcd_mvcc_db_total_size_in_use_in_bytes", constant(inUseBytes, this.minutes));
    }

    /** The volume of claim `claim`, mounted by `pod`, as the kubelet and as Google Cloud report it. */
    volume(claim: string, pod: string, availableBytes: number): this {
        const labels = { persistentvolumeclaim: claim };
        this.kubernetes(`capacity@${claim}`, "kubelet_volume_stats_capacity_bytes", constant(VOLUME_BYTES, this.minutes), labels);
        this.kubernetes(`available@${claim}`, "kubelet_volume_stats_available_bytes", constant(availableBytes, this.minutes), labels);
        const utilization = seriesName("kubernetes_io:pod_volume_utilization", { monitored_resource: "k8s_pod", ...GOOGLE_CLOUD, pod_name: pod, volume_name: scope.dataVolumeName });
        this.families.set(`utilization@${claim}`, [{ series: utilization, values: constant(1 - availableBytes / VOLUME_BYTES, this.minutes) }]);
        return this;
    }

    /**
     * The log-based metric of CronJob `name`'s success lines: a sample at each minute a line was logged, and
     * none elsewhere, as Cloud Logging writes it. Each run is a pod of its own (k8s_container pod_name).
     */
    successLines(name: string, runMinutes: readonly number[]): this {
        const metric = CRON_JOB_ALERTS.find(({ cronJob }) => cronJob.cronJobName === name)!.cronJob.successMetric!;
        this.families.set(
            `successLines@${name}`,
            runMinutes.map((minute) => ({
                series: seriesName(metric, { monitored_resource: "k8s_container", ...GOOGLE_CLOUD, pod_name: `${name}-${minute}`, container_name: "job" }),
                values: `${"_ ".repeat(minute)}1`,
            })),
        );
        return this;
    }

    /** When the last run of CronJob `name` succeeded, in seconds since time 0. */
    lastSuccess(name: string, values: string): this {
        return this.kubernetes(`lastSuccess@${name}`, "kube_cronjob_status_last_successful_time", values, { cronjob: name });
    }

    /** A kube-state-metrics or kubelet series of the cluster's namespace. */
    kubernetes(family: string, metric: string, values: string, labels: Labels): this {
        this.families.set(family, [{ series: seriesName(metric, { namespace: scope.namespace, ...labels }), values }]);
        return this;
    }

    /** Drops the families whose name matches. */
    without(family: RegExp): this {
        for (const name of [...this.families.keys()].filter((name) => family.test(name))) this.families.delete(name);
        return this;
    }

    inputSeries(): { series: string; values: string }[] {
        return [...this.families.values()].flat();
    }
}

/** Alert name -> how many instances of it fire. */
type Firing = Record<string, number>;

interface Scenario {
    readonly name: string;
    /** The platforms whose rules the scenario is for; all when unset. */
    readonly platforms?: readonly Platform[];
    /** Changes the healthy cluster into the one of the scenario. */
    readonly cluster?: (cluster: Cluster) => Cluster;
    /** Minute -> the alerts firing then, each with how many instances. The series run until the last minute. */
    readonly firing: Record<number, Firing>;
}

/** When an alert whose condition holds from the fault on has surely fired: the rate window filled, its `for` passed. */
const settled = (alert: string) => FAULT_MINUTE + RATE_WINDOW_MINUTES + forOf(alert) + 2;
/** `count` events within the three minutes after the fault. */
const burst = (count: number) => Array.from({ length: count }, (_, i) => FAULT_MINUTE + Math.floor((i * 3) / count));
/** When a CronJob alert's newest success becomes too old, if the last one succeeded at time 0. */
const staleMinute = (alert: string, intervalSeconds: number) => (threshold(alert, "intervals") * intervalSeconds) / 60;
/** When it has surely fired on kube-state-metrics, its `for` passed. */
const staleFiresAt = (alert: string, intervalSeconds: number) => staleMinute(alert, intervalSeconds) + forOf(alert) + 2;
/**
 * On Google Cloud the alert fires `intervals` intervals and the time a run may take (its `for` less one
 * interval) after the last success line.
 */
const loggedStaleMinute = (alert: string, intervalSeconds: number) => staleMinute(alert, intervalSeconds) + forOf(alert, "google-cloud") - intervalSeconds / 60;
/** etcd's process start time, changed at each of `minutesOfRestart`. */
function startTimes(minutesOfRestart: readonly number[], minutes: number): string {
    return Array.from({ length: minutes + 1 }, (_, minute) => {
        const last = Math.max(-1, ...minutesOfRestart.filter((m) => m <= minute));
        return last < 0 ? -86_400 : last * 60;
    }).join(" ");
}

const [pod0, pod1, pod2] = new Cluster(0).pods;
const leaderChanges = threshold("EtcdFrequentLeaderChanges", "changesPerHour");
const restarts = threshold("EtcdContainerRestarts", "restartsPerHour");

const SCENARIOS: Scenario[] = [
    {
        name: "a healthy cluster, backed up and its users converged on time",
        firing: Object.fromEntries(
            [
                settled("EtcdDatabaseFragmented"),
                ...CRON_JOB_ALERTS.flatMap(({ alert, cronJob }) => [staleFiresAt(alert, cronJob.intervalSeconds), loggedStaleMinute(alert, cronJob.intervalSeconds) + 2]),
            ].map((minute) => [minute, {}]),
        ),
    },
    {
        name: "a member stays a learner",
        cluster: (c) => c.member(pod2, "etcd_server_is_learner", fromFault(0, 1, c.minutes)),
        firing: { [FAULT_MINUTE + forOf("EtcdLearnerNotPromoted") - 2]: {}, [FAULT_MINUTE + forOf("EtcdLearnerNotPromoted") + 2]: { EtcdLearnerNotPromoted: 1 } },
    },
    {
        name: "a member stops answering",
        cluster: (c) => c.member(pod1, "up", fromFault(1, 0, c.minutes)),
        firing: { [FAULT_MINUTE + forOf("EtcdMemberDown") - 2]: {}, [FAULT_MINUTE + forOf("EtcdMemberDown") + 2]: { EtcdMemberDown: 1 } },
    },
    {
        name: "a member's pod is gone (no scrape target)",
        cluster: (c) => c.without(new RegExp(`@${pod2}$`)),
        firing: { [settled("EtcdMemberDown")]: { EtcdMemberDown: 1 } },
    },
    {
        name: "two of three members are down: quorum lost",
        cluster: (c) =>
            c
                .member(pod1, "up", fromFault(1, 0, c.minutes))
                .member(pod2, "up", fromFault(1, 0, c.minutes))
                .member(pod0, "etcd_server_has_leader", fromFault(1, 0, c.minutes)),
        firing: { [settled("EtcdMemberDown")]: { EtcdMemberDown: 2, EtcdInsufficientMembers: 1, EtcdNoLeader: 1 } },
    },
    {
        name: "no member can be scraped at all",
        cluster: (c) => c.without(/^up@/),
        firing: { [settled("EtcdMemberDown")]: { EtcdMemberDown: 1, EtcdInsufficientMembers: 1 } },
    },
    {
        name: "no member sees a leader",
        cluster: (c) => c.pods.reduce((cluster, pod) => cluster.member(pod, "etcd_server_has_leader", fromFault(1, 0, c.minutes)), c),
        firing: { [settled("EtcdNoLeader")]: { EtcdNoLeader: 3 } },
    },
    ...[
        { changes: leaderChanges, firing: { EtcdFrequentLeaderChanges: 1 } as Firing },
        { changes: leaderChanges - 1, firing: {} },
    ].map(({ changes, firing }) => ({
        name: `${changes} leader changes within an hour`,
        cluster: (c: Cluster) => c.pods.reduce((cluster, pod) => cluster.member(pod, "etcd_server_leader_changes_seen_total", increments(burst(changes), c.minutes)), c),
        firing: { [settled("EtcdFrequentLeaderChanges")]: firing },
    })),
    {
        name: "a member fails requests",
        cluster: (c) => {
            const ratio = pastRatio(threshold("EtcdFailedGrpcRequests", "failedRatio"));
            const failedPerMinute = (60 * ratio) / (1 - ratio);
            return c.member(pod0, "grpc_server_handled_total", growing(failedPerMinute, c.minutes), { ...RANGE_CALLS, grpc_code: "Unavailable" }, { replace: false });
        },
        firing: { [settled("EtcdFailedGrpcRequests")]: { EtcdFailedGrpcRequests: 1 } },
    },
    ...(
        [
            ["EtcdSlowGrpcRequests", "grpc_server_handling_seconds", RANGE_CALLS],
            ["EtcdSlowPeerCommunication", "etcd_network_peer_round_trip_time_seconds", { To: "peer-of-0" }],
            ["EtcdSlowWalFsync", "etcd_disk_wal_fsync_duration_seconds", {}],
            ["EtcdSlowBackendCommit", "etcd_disk_backend_commit_duration_seconds", {}],
        ] as const
    ).map(([alert, histogram, labels]) => ({
        name: `a member's ${histogram} is twice the threshold`,
        cluster: (c: Cluster) => c.latency(pod0, histogram, 2 * threshold(alert, "p99Seconds"), labels),
        firing: { [settled(alert)]: { [alert]: 1 } },
    })),
    {
        name: "a member fails proposals",
        cluster: (c) => c.member(pod0, "etcd_server_proposals_failed_total", increments(burst(threshold("EtcdFailedProposals", "failuresPer15Minutes")), c.minutes)),
        firing: { [settled("EtcdFailedProposals")]: { EtcdFailedProposals: 1 } },
    },
    ...[
        { ratio: pastRatio(threshold("EtcdDatabaseNearQuota", "usedRatio")), firing: { EtcdDatabaseNearQuota: 3 } as Firing },
        { ratio: 0.9 * threshold("EtcdDatabaseNearQuota", "usedRatio"), firing: {} },
    ].map(({ ratio, firing }) => ({
        name: `the database fills ${Math.round(ratio * 100)}% of its quota`,
        cluster: (c: Cluster) => c.pods.reduce((cluster, pod) => cluster.databaseSize(pod, ratio * QUOTA_BYTES, ratio * QUOTA_BYTES), c),
        firing: { [settled("EtcdDatabaseNearQuota")]: firing },
    })),
    ...[
        { totalBytes: 4 * threshold("EtcdDatabaseFragmented", "minimumBytes"), firing: { EtcdDatabaseFragmented: 1 } as Firing },
        { totalBytes: threshold("EtcdDatabaseFragmented", "minimumBytes") / 2, firing: {} },
    ].map(({ totalBytes, firing }) => ({
        name: `a ${totalBytes} byte database, mostly free pages`,
        cluster: (c: Cluster) => c.databaseSize(pod0, totalBytes, totalBytes * (1 - pastRatio(threshold("EtcdDatabaseFragmented", "freeRatio")))),
        firing: { [settled("EtcdDatabaseFragmented")]: firing },
    })),
    ...[
        { count: restarts, firing: { EtcdContainerRestarts: 1 } as Firing },
        { count: restarts - 1, firing: {} },
    ].map(({ count, firing }) => ({
        name: `a member restarts ${count} times within an hour`,
        cluster: (c: Cluster) => c.member(pod0, "process_start_time_seconds", startTimes(burst(count), c.minutes)),
        firing: { [settled("EtcdContainerRestarts")]: firing },
    })),
    {
        name: "a member's volume fills up",
        cluster: (c) => c.volume(scope.dataClaimNames[0], pod0, (VOLUME_BYTES * threshold("EtcdVolumeNearlyFull", "availableRatio")) / 2),
        firing: { [settled("EtcdVolumeNearlyFull")]: { EtcdVolumeNearlyFull: 1 } },
    },
    ...CRON_JOB_ALERTS.flatMap(({ alert, cronJob: { cronJobName, intervalSeconds } }) => {
        const justPast = { [staleMinute(alert, intervalSeconds) - 1]: {}, [staleFiresAt(alert, intervalSeconds)]: { [alert]: 1 } };
        const intervalMinutes = intervalSeconds / 60;
        const stale = loggedStaleMinute(alert, intervalSeconds);
        const kubernetes = ["kubernetes"] as const;
        const googleCloud = ["google-cloud"] as const;
        return [
            {
                name: `runs of ${cronJobName} stop succeeding`,
                platforms: kubernetes,
                cluster: (c: Cluster) => c.lastSuccess(cronJobName, constant(0, c.minutes)),
                firing: justPast,
            },
            {
                name: `no run of ${cronJobName} has ever succeeded`,
                platforms: kubernetes,
                cluster: (c: Cluster) => c.without(new RegExp(`^lastSuccess@${cronJobName}$`)),
                firing: justPast,
            },
            {
                name: `kube-state-metrics does not report ${cronJobName}`,
                platforms: kubernetes,
                cluster: (c: Cluster) => c.without(new RegExp(`^(created|lastSuccess)@${cronJobName}$`)),
                firing: { [forOf(alert) + 2]: { [alert]: 1 } },
            },
            {
                name: `${cronJobName}'s last success line at 0: quiet until ${threshold(alert, "intervals")} intervals and the run time passed, then firing`,
                platforms: googleCloud,
                cluster: (c: Cluster) => c.successLines(cronJobName, [0]),
                firing: { [staleMinute(alert, intervalSeconds)]: {}, [stale - 2]: {}, [stale + 2]: { [alert]: 1 } },
            },
            {
                name: `${cronJobName} succeeds once more, one interval late: the alert does not fire`,
                platforms: googleCloud,
                cluster: (c: Cluster) => c.successLines(cronJobName, [0, 2 * intervalMinutes, 3 * intervalMinutes, 4 * intervalMinutes, 5 * intervalMinutes]),
                firing: { [stale]: {}, [stale + intervalMinutes]: {}, [5 * intervalMinutes + 2]: {} },
            },
            {
                name: `a new stack: ${cronJobName}'s first run succeeds one interval after the alert exists, and the alert stays quiet`,
                platforms: googleCloud,
                cluster: (c: Cluster) => c.successLines(cronJobName, [1, 2, 3, 4, 5].map((n) => n * intervalMinutes)),
                firing: { [intervalMinutes - 1]: {}, [intervalMinutes + 1]: {}, [stale + intervalMinutes]: {} },
            },
            {
                name: `a new stack: ${cronJobName}'s first run never succeeds`,
                platforms: googleCloud,
                cluster: (c: Cluster) => c.without(new RegExp(`^successLines@${cronJobName}$`)),
                firing: { [forOf(alert, "google-cloud") - 2]: {}, [forOf(alert, "google-cloud") + 2]: { [alert]: 1 } },
            },
        ];
    }),
    ...(["EtcdMemberNeverStarted", "EtcdMembersBeyondReplicas"] as const).flatMap((alert) => {
        const counts = alert === "EtcdMemberNeverStarted" ? { registered: scope.replicas, unstarted: 1 } : { registered: scope.replicas + 1, unstarted: 0 };
        const googleCloud = ["google-cloud"] as const;
        return [
            {
                name: `${alert}: the membership lines count ${JSON.stringify(counts)} from minute ${FAULT_MINUTE}`,
                platforms: googleCloud,
                cluster: (c: Cluster) => c.membershipLines(counts, FAULT_MINUTE),
                firing: { [FAULT_MINUTE + forOf(alert, "google-cloud") - 2]: {}, [FAULT_MINUTE + forOf(alert, "google-cloud") + 2]: { [alert]: 1 } },
            },
            {
                name: `${alert}: ${JSON.stringify(counts)} for a few minutes only (a member joining, a scale-down) fires nothing`,
                platforms: googleCloud,
                cluster: (c: Cluster) => c.membershipLines(counts, FAULT_MINUTE, FAULT_MINUTE + 3),
                firing: { [FAULT_MINUTE + 2]: {}, [FAULT_MINUTE + forOf(alert, "google-cloud") + 2]: {} },
            },
        ];
    }),
];

/** promtool's unit test file: one test group per scenario, each asserting which alerts fire when. */
function unitTests(rulesFile: string, scenarios: readonly Scenario[]): string {
    return stringify({
        rule_files: [rulesFile],
        evaluation_interval: "1m",
        tests: scenarios.map((scenario) => {
            const minutes = Math.max(...Object.keys(scenario.firing).map(Number));
            const cluster = (scenario.cluster ?? ((c) => c))(new Cluster(minutes));
            return {
                name: scenario.name,
                interval: "1m",
                input_series: cluster.inputSeries(),
                promql_expr_test: Object.entries(scenario.firing).map(([minute, alerts]) => ({
                    expr: 'count by (alertname) (ALERTS{alertstate="firing"})',
                    eval_time: `${minute}m`,
                    exp_samples: Object.entries(alerts).map(([alertname, count]) => ({ labels: `{alertname="${alertname}"}`, value: count })),
                })),
            };
        }),
    });
}

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
    const result = spawnSync(promtoolPath, args, { cwd, encoding: "utf8", timeout: 120_000, killSignal: "SIGKILL" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

let promtoolPath: string;
let dir: string;

const scenariosOf = (platform: Platform) => SCENARIOS.filter((scenario) => !scenario.platforms || scenario.platforms.includes(platform));
const rulesFile = (platform: Platform) => `rules-${platform}.yaml`;

beforeAll(async () => {
    promtoolPath = await promtoolBinary();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-alert-rules-"));
    for (const platform of PLATFORMS) {
        fs.writeFileSync(path.join(dir, rulesFile(platform)), stringify({ groups: alertRuleGroups(SCOPES[platform]) }));
        fs.writeFileSync(path.join(dir, `tests-${platform}.yaml`), unitTests(rulesFile(platform), scenariosOf(platform)));
    }
});

afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(PLATFORMS)("on %s's metrics", (platform) => {
    test("promtool check rules accepts the rendered rules, templates included", () => {
        const { status, output } = promtool(["check", "rules", rulesFile(platform)], dir);
        const count = alertRuleGroups(SCOPES[platform]).flatMap((g) => g.rules).length;
        expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${count} rules found`) });
    });

    test("every alert fires in some scenario, and the healthy cluster fires none", () => {
        const fired = new Set(scenariosOf(platform).flatMap((s) => Object.values(s.firing).flatMap((alerts) => Object.keys(alerts))));
        const alerts = [...new Set(ETCD_ALERTS.map((d) => d.alert))].filter((name) => platform === "google-cloud" || !(MEMBERSHIP_LOG_ALERTS as readonly string[]).includes(name));
        expect([...fired].sort()).toEqual(alerts.sort());
        const healthy = SCENARIOS[0].firing;
        expect(Object.values(healthy)).toEqual(Object.keys(healthy).map(() => ({})));
    });

    test("promtool test rules: each scenario fires exactly the alerts expected", () => {
        const { status, output } = promtool(["test", "rules", `tests-${platform}.yaml`], dir);
        expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining("SUCCESS") });
    });
});

test("promtool check rules rejects a broken rule, so the check above can fail", () => {
    const broken = alertRuleGroups(scope);
    broken[0] = { ...broken[0], rules: [{ ...broken[0].rules[0], expr: "sum(rate(up[5m]) by (pod)" }] };
    fs.writeFileSync(path.join(dir, "broken-rules.yaml"), stringify({ groups: broken }));
    const { status, output } = promtool(["check", "rules", "broken-rules.yaml"], dir);
    expect(status).not.toBe(0);
    expect(output).toMatch(/parse error/);
});

test("promtool test rules fails when a scenario expects an alert the series do not raise", () => {
    const wrong: Scenario = { ...SCENARIOS[0], firing: { [settled("EtcdMemberDown")]: { EtcdMemberDown: 1 } } };
    fs.writeFileSync(path.join(dir, "wrong-tests.yaml"), unitTests(rulesFile("google-cloud"), [wrong]));
    const { status, output } = promtool(["test", "rules", "wrong-tests.yaml"], dir);
    expect(status).not.toBe(0);
    expect(output).toMatch(/EtcdMemberDown/);
});
