/**
 * The fault part of `npm run bench`: a real 3-member etcd started from the RENDERED prod StatefulSet
 * (loopback 127.0.0.101-103), under a steady, bounded write load; the leader is killed with SIGKILL
 * `rounds` times. Per round it measures the time to a new leader, the writes that failed and when,
 * and the time until the killed member, restarted on its data dir, is healthy and caught up. At the
 * end every write that was acknowledged (HTTP 200) is read back: `acknowledgedWritesLost` must be 0.
 *
 * Every loop is bounded in count and in time; every process is stopped by pid (LocalCluster).
 */
import * as path from "path";
import { findManifest, renderedPlan } from "../rendered-plan";
import { etcdBinaries } from "../etcd/binaries";
import { EtcdClient } from "../etcd/etcd-client";
import { LocalCluster } from "../etcd/local-cluster";
import { membersFromStatefulSet } from "../etcd/rendered-members";
import { makeMemberSecrets } from "../etcd/stack-secrets";
import { waitFor } from "../etcd/wait";

/** Not used by the tests (.21-.53) nor by the backup bench (.61-.73). */
const IPS = ["127.0.0.101", "127.0.0.102", "127.0.0.103"];
const WAIT_MS = 120_000;

export interface FaultBenchOptions {
    /** Leader kills; default 3. */
    rounds?: number;
    /** Concurrent writers; default 4. */
    writers?: number;
    /** Per-request timeout of a write; default 1000 ms. */
    writeTimeoutMs?: number;
    /** Pause after each write of one writer (keeps the load steady); default 10 ms. */
    writePauseMs?: number;
    /** Load before the kill; default 2000 ms. */
    warmupMs?: number;
    /** Load kept after the killed member is caught up; default 1000 ms. */
    cooldownMs?: number;
    /** Hard bound on one round's load; default 60 s. */
    roundLoadLimitMs?: number;
    /** Hard bound on writes per writer per round; default 20 000. */
    writesPerWriterLimit?: number;
    /** Status poll interval; default 20 ms. */
    pollMs?: number;
}

interface WriteFailure {
    /** ms since the kill (negative: before it). */
    atMs: number;
    reason: string;
}

interface Ack {
    key: string;
    value: string;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round1 = (n: number): number => Math.round(n * 10) / 10;

function summary(values: number[]): { min: number; median: number; max: number } {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { min: round1(sorted[0]), median: round1(median), max: round1(sorted[sorted.length - 1]) };
}

function reasonOf(err: unknown): string {
    const message = (err as Error).message ?? String(err);
    if (/timed out/.test(message)) return "timeout";
    if (/ECONNREFUSED/.test(message)) return "refused";
    if (/socket hang up|ECONNRESET/.test(message)) return "connection closed";
    const http = /HTTP (\d+): (.*)$/s.exec(message);
    if (http) {
        const etcdMessage = /"message":"([^"]*)"/.exec(http[2])?.[1];
        return `http ${http[1]}${etcdMessage ? `: ${etcdMessage}` : ""}`;
    }
    return message.slice(0, 120);
}

/** Status plus the header revision (EtcdClient.status() leaves it out). */
async function statusWithRevision(endpoint: string, timeoutMs: number): Promise<{ memberId: string; leader: string; raftTerm: number; revision: number }> {
    const response = await fetch(`${endpoint}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) throw new Error(`status ${endpoint}: HTTP ${response.status}`);
    const body = (await response.json()) as { header?: { member_id?: string; revision?: string }; leader?: string; raftTerm?: string };
    return {
        memberId: body.header?.member_id ?? "0",
        leader: body.leader ?? "0",
        raftTerm: Number(body.raftTerm ?? 0),
        revision: Number(body.header?.revision ?? 0),
    };
}

/**
 * A writer: sequential keys `<prefix><n>`, one request at a time, against one endpoint; on a failure it
 * moves to the next endpoint (as a client given every member's URL does). Stops on `stop()`, after
 * `limitMs` or after `maxWrites`, whichever comes first.
 */
class Writer {
    readonly acks: Ack[] = [];
    readonly failures: (WriteFailure & { key: string })[] = [];
    private stopped = false;
    private readonly done: Promise<void>;
    private killedAt = Number.NaN;

    constructor(
        private readonly prefix: string,
        endpoints: string[],
        start: number,
        opts: { timeoutMs: number; pauseMs: number; limitMs: number; maxWrites: number },
    ) {
        const clients = endpoints.map((e) => new EtcdClient(e, { timeoutMs: opts.timeoutMs }));
        let target = start % clients.length;
        const deadline = now() + opts.limitMs;
        this.done = (async () => {
            for (let n = 0; n < opts.maxWrites && !this.stopped && now() < deadline; n++) {
                const key = `${this.prefix}${String(n).padStart(6, "0")}`;
                const value = `v${n}`;
                try {
                    await clients[target].put(key, value);
                    this.acks.push({ key, value });
                } catch (err) {
                    this.failures.push({ key, atMs: now() - this.killedAt, reason: reasonOf(err) });
                    target = (target + 1) % clients.length;
                }
                if (opts.pauseMs > 0) await sleep(opts.pauseMs);
            }
        })();
    }

    /** Marks the moment of the kill (failure times are relative to it). */
    markKill(at: number): void {
        this.killedAt = at;
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
    }
}

export async function faultBench(work: string, clusters: LocalCluster[], options: FaultBenchOptions = {}): Promise<object> {
    const rounds = options.rounds ?? 3;
    const writerCount = options.writers ?? 4;
    const writeTimeoutMs = options.writeTimeoutMs ?? 1000;
    const writePauseMs = options.writePauseMs ?? 10;
    const warmupMs = options.warmupMs ?? 2000;
    const cooldownMs = options.cooldownMs ?? 1000;
    const roundLoadLimitMs = options.roundLoadLimitMs ?? 60_000;
    const writesPerWriterLimit = options.writesPerWriterLimit ?? 20_000;
    const pollMs = options.pollMs ?? 20;
    const phaseLimitMs = 30_000;

    const bins = await etcdBinaries();
    const { manifests, plan } = renderedPlan("prod");
    const { secrets } = makeMemberSecrets(path.join(work, "fault-secrets"), { manifests, resources: plan.resources }, IPS);
    const members = membersFromStatefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"), {
        ips: IPS,
        dataRoot: path.join(work, "fault-data"),
        binDir: bins.binDir,
        secrets,
    });
    const cluster = new LocalCluster({ members, workDir: path.join(work, "fault-logs"), etcdBinary: members[0].binary });
    clusters.push(cluster);
    await cluster.start();
    await cluster.waitHealthy(WAIT_MS);
    const endpointOf = new Map(members.map((m) => [m.name, `http://${m.ip}:2379`]));
    const endpoints = members.map((m) => endpointOf.get(m.name)!);
    const pollTimeoutMs = Math.max(pollMs * 5, 100);

    const perRound: object[] = [];
    const allAcks: Ack[] = [];
    const allFailedKeys: string[] = [];
    const newLeaderMs: number[] = [];
    const failedCounts: number[] = [];
    const failureWindows: number[] = [];
    const recoveryMs: number[] = [];
    const writesPerSecond: number[] = [];

    for (let r = 0; r < rounds; r++) {
        const loadStarted = now();
        const writers = Array.from(
            { length: writerCount },
            (_, w) =>
                new Writer(`/bench/faults/r${r}/w${w}/`, endpoints, w, {
                    timeoutMs: writeTimeoutMs,
                    pauseMs: writePauseMs,
                    limitMs: roundLoadLimitMs,
                    maxWrites: writesPerWriterLimit,
                }),
        );
        try {
            await sleep(warmupMs);
            // The leader as it says itself, read just before the kill.
            const oldLeader = await waitFor("a leader", () => cluster.leader(), { timeoutMs: WAIT_MS, intervalMs: pollMs });
            const oldStatus = await statusWithRevision(endpointOf.get(oldLeader)!, 1000);
            if (oldStatus.leader !== oldStatus.memberId) throw new Error(`round ${r}: ${oldLeader} no longer leads`);
            const survivors = cluster.names.filter((n) => n !== oldLeader);

            // (1) kill -9 of the leader; poll the survivors every `pollMs` until one names a new leader.
            const killedAt = now();
            for (const writer of writers) writer.markKill(killedAt);
            const killedPid = cluster.process(oldLeader)!.pid;
            await cluster.killMember(oldLeader);
            let newLeader: { name: string; atMs: number; term: number } | undefined;
            for (let poll = 0; poll < phaseLimitMs / pollMs && now() - killedAt < phaseLimitMs && !newLeader; poll++) {
                const tick = now();
                const statuses = await Promise.allSettled(survivors.map(async (name) => ({ name, status: await statusWithRevision(endpointOf.get(name)!, pollTimeoutMs) })));
                // A new leader: a survivor that names itself leader in a later term than the killed one.
                for (const s of statuses) {
                    if (s.status !== "fulfilled") continue;
                    const { name, status } = s.value;
                    if (status.leader === status.memberId && status.raftTerm > oldStatus.raftTerm) {
                        newLeader = { name, atMs: now() - killedAt, term: status.raftTerm };
                        break;
                    }
                }
                if (!newLeader) await sleep(Math.max(0, pollMs - (now() - tick)));
            }
            if (!newLeader) throw new Error(`round ${r}: no new leader within ${phaseLimitMs} ms of killing ${oldLeader}`);

            // (4) restart the killed member on its data dir; poll until healthy and its revision has
            // reached the leader's (the leader's read first, so under load ">=" means caught up).
            const restartAt = now();
            await cluster.restartMember(oldLeader);
            const restarted = new EtcdClient(endpointOf.get(oldLeader)!, { timeoutMs: pollTimeoutMs });
            let recovered: { healthyMs: number; caughtUpMs: number; revision: number } | undefined;
            let healthyMs: number | undefined;
            for (let poll = 0; poll < phaseLimitMs / pollMs && now() - restartAt < phaseLimitMs && !recovered; poll++) {
                const tick = now();
                try {
                    if (healthyMs === undefined && (await restarted.health())) healthyMs = now() - restartAt;
                    if (healthyMs !== undefined) {
                        const leaderName = (await cluster.leader()) ?? newLeader.name;
                        const leaderRevision = (await statusWithRevision(endpointOf.get(leaderName)!, pollTimeoutMs)).revision;
                        const own = await statusWithRevision(endpointOf.get(oldLeader)!, pollTimeoutMs);
                        if (own.revision >= leaderRevision) recovered = { healthyMs, caughtUpMs: now() - restartAt, revision: own.revision };
                    }
                } catch {
                    // not up yet
                }
                if (!recovered) await sleep(Math.max(0, pollMs - (now() - tick)));
            }
            if (!recovered) throw new Error(`round ${r}: ${oldLeader} not healthy and caught up within ${phaseLimitMs} ms of its restart`);

            await sleep(cooldownMs);
            await Promise.all(writers.map((w) => w.stop()));
            const loadMs = now() - loadStarted;
            await cluster.waitHealthy(WAIT_MS);

            const acks = writers.flatMap((w) => w.acks);
            const failures = writers.flatMap((w) => w.failures);
            allAcks.push(...acks);
            allFailedKeys.push(...failures.map((f) => f.key));
            const reasons: Record<string, number> = {};
            for (const f of failures) reasons[f.reason] = (reasons[f.reason] ?? 0) + 1;
            const times = failures.map((f) => f.atMs);
            const window = times.length === 0 ? 0 : Math.max(...times) - Math.min(...times);
            newLeaderMs.push(newLeader.atMs);
            failedCounts.push(failures.length);
            failureWindows.push(window);
            recoveryMs.push(recovered.caughtUpMs);
            writesPerSecond.push(acks.length / (loadMs / 1000));
            perRound.push({
                killed: oldLeader,
                killedPid,
                newLeader: newLeader.name,
                newLeaderMs: round1(newLeader.atMs),
                raftTerm: { before: oldStatus.raftTerm, after: newLeader.term },
                writesAcknowledged: acks.length,
                writesFailed: failures.length,
                failureWindowMs: {
                    first: times.length ? round1(Math.min(...times)) : null,
                    last: times.length ? round1(Math.max(...times)) : null,
                    length: round1(window),
                },
                failureReasons: reasons,
                restart: { healthyMs: round1(recovered.healthyMs), caughtUpMs: round1(recovered.caughtUpMs), revision: recovered.revision },
                loadSeconds: round1(loadMs / 1000),
                writesPerSecond: Math.round(acks.length / (loadMs / 1000)),
            });
        } finally {
            await Promise.all(writers.map((w) => w.stop()));
        }
    }

    // (2) every acknowledged write must be readable; a failed write may or may not have been applied.
    const reader = new EtcdClient(endpointOf.get((await cluster.leader()) ?? members[0].name)!, { timeoutMs: 30_000 });
    const stored = new Map<string, string>();
    for (let r = 0; r < rounds; r++) {
        for (let w = 0; w < writerCount; w++) {
            for (const [key, value] of await reader.getPrefix(`/bench/faults/r${r}/w${w}/`)) stored.set(key, value);
        }
    }
    const lost = allAcks.filter((a) => stored.get(a.key) !== a.value);
    const failedButApplied = allFailedKeys.filter((k) => stored.has(k)).length;

    return {
        cluster: `${members.length} members from the rendered prod StatefulSet on ${IPS.join(", ")}`,
        load: {
            writers: writerCount,
            writeTimeoutMs,
            pauseBetweenWritesMs: writePauseMs,
            failover: "a writer moves to the next member after a failed write",
            warmupMs,
            cooldownAfterCaughtUpMs: cooldownMs,
        },
        rounds,
        leaderKill: "SIGKILL of the leader's process group",
        newLeaderMs: summary(newLeaderMs),
        acknowledgedWrites: allAcks.length,
        acknowledgedWritesLost: lost.length,
        failedWritesApplied: failedButApplied,
        writesFailedPerRound: summary(failedCounts),
        failureWindowMs: summary(failureWindows),
        restartToCaughtUpMs: summary(recoveryMs),
        writesPerSecond: summary(writesPerSecond),
        perRound,
        ...(lost.length > 0 ? { lostKeys: lost.slice(0, 20).map((a) => a.key) } : {}),
    };
}
