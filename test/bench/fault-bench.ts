/**
 * The fault part of `npm run bench`: the RENDERED prod StatefulSet run as pods in the pod sandbox
 * (test/pod-sandbox: own network namespaces, pod DNS names, UID 65532, claims), under a steady,
 * bounded write load through every member's client URL. Per fault (a SIGKILLed leader pod, a
 * partitioned leader, a partitioned follower, every member stopped and started together) it measures
 * the time to a (new) leader, the writes that failed and the window they fell in, and the time until
 * the faulty member is healthy and caught up. At the end every acknowledged write is read back:
 * `acknowledgedWritesLost` must be 0. It also says what the sandbox costs: its creation, a pod's
 * start, members healthy and pods Ready after a start.
 *
 * Every loop is bounded in count and in time; every process is stopped by pid (PodSandbox.close).
 */
import { findManifest, renderedPlan } from "../rendered-plan";
import type { EtcdClient } from "../etcd/etcd-client";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";

const WAIT_MS = 60_000;

export interface FaultBenchOptions {
    /** Rounds per fault; default 2. */
    rounds?: number;
    /** Concurrent writers; default 4. */
    writers?: number;
    /** Per-request timeout of a write; default 1000 ms. */
    writeTimeoutMs?: number;
    /** Pause after each write of one writer (keeps the load steady); default 10 ms. */
    writePauseMs?: number;
    /** Load before the fault; default 2000 ms. */
    warmupMs?: number;
    /** How long a partition lasts; default 3000 ms. */
    partitionMs?: number;
    /** Load kept after the faulty member is caught up; default 1000 ms. */
    cooldownMs?: number;
    /** Hard bound on one round's load; default 90 s. */
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
    if (/socket hang up|ECONNRESET|EPIPE/.test(message)) return "connection closed";
    if (/is not a name in the sandbox's cluster DNS/.test(message)) return "no such host (pod gone)";
    const http = /HTTP (\d+): (.*)$/s.exec(message);
    if (http) {
        const etcdMessage = /"message":"([^"]*)"/.exec(http[2])?.[1];
        return `http ${http[1]}${etcdMessage ? `: ${etcdMessage}` : ""}`;
    }
    return message.slice(0, 120);
}

/**
 * A writer: sequential keys `<prefix><n>`, one request at a time, against one member; on a failure it
 * moves to the next member (as a client given every member's URL does). Stops on `stop()`, after
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
        clients: EtcdClient[],
        start: number,
        opts: { pauseMs: number; limitMs: number; maxWrites: number },
    ) {
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

    /** Marks the moment of the fault (failure times are relative to it). */
    markFault(at: number): void {
        this.killedAt = at;
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
    }
}

/** One kind of fault: what it does to which member, and how it is repaired. */
interface Fault {
    name: string;
    /** Whether a new leader must follow (else the old one must stay). */
    leaderChanges: boolean;
    /** The members the fault hits, given the leader. */
    faulty(leader: number, members: MemberPods): number[];
    inject(faulty: number[], pods: StatefulSetPods): Promise<void>;
    repair(faulty: number[], pods: StatefulSetPods): Promise<void>;
    /** Wait between inject and repair; 0: repair at once after the new leader is found. */
    holdMs: number;
}

function faults(partitionMs: number): Fault[] {
    const setLinks = (up: boolean) => async (faulty: number[], pods: StatefulSetPods) => void (await Promise.all(faulty.map((o) => pods.setLink(o, up))));
    return [
        {
            name: "leader pod SIGKILLed, made again (new address, same claim)",
            leaderChanges: true,
            faulty: (leader) => [leader],
            inject: async ([o], pods) => pods.killPod(o),
            repair: async ([o], pods) => void (await pods.startPod(o)),
            holdMs: 0,
        },
        { name: "leader partitioned (link down), then restored", leaderChanges: true, faulty: (leader) => [leader], inject: setLinks(false), repair: setLinks(true), holdMs: partitionMs },
        {
            name: "follower partitioned (link down), then restored",
            leaderChanges: false,
            faulty: (leader, members) => [members.ordinals.find((o) => o !== leader)!],
            inject: setLinks(false),
            repair: setLinks(true),
            holdMs: partitionMs,
        },
        {
            name: "every member stopped at once (SIGTERM), then started together",
            leaderChanges: true,
            faulty: (_leader, members) => members.ordinals,
            inject: async (_faulty, pods) => pods.stopAll(),
            repair: async (_faulty, pods) => void (await pods.startAll()),
            holdMs: 0,
        },
    ];
}

export async function faultBench(options: FaultBenchOptions = {}): Promise<object> {
    const rounds = options.rounds ?? 2;
    const writerCount = options.writers ?? 4;
    const writeTimeoutMs = options.writeTimeoutMs ?? 1000;
    const writePauseMs = options.writePauseMs ?? 10;
    const warmupMs = options.warmupMs ?? 2000;
    const partitionMs = options.partitionMs ?? 3000;
    const cooldownMs = options.cooldownMs ?? 1000;
    const roundLoadLimitMs = options.roundLoadLimitMs ?? 90_000;
    const writesPerWriterLimit = options.writesPerWriterLimit ?? 20_000;
    const pollMs = options.pollMs ?? 20;
    const phaseLimitMs = 60_000;
    const pollTimeoutMs = Math.max(pollMs * 5, 100);

    const { manifests, plan } = renderedPlan("prod");
    const created = now();
    const sandbox = await PodSandbox.create({ manifests, secrets: stackSecrets({ manifests, resources: plan.resources }).secrets });
    try {
        const sandboxMs = now() - created;
        const pods = sandbox.statefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"));
        const members = new MemberPods(sandbox, pods);
        const started = now();
        // A first deploy: ordinal 0 founds the cluster, the others join one learner at a time.
        await members.firstDeploy(plan, WAIT_MS);
        const healthyMs = now() - started;
        await pods.waitReady(WAIT_MS);
        const readyMs = now() - started;

        const writeClients = members.ordinals.map((o) => sandbox.etcdClient(members.clientUrl(o), { timeoutMs: writeTimeoutMs }));
        const poller = (o: number): EtcdClient => sandbox.etcdClient(members.clientUrl(o), { timeoutMs: pollTimeoutMs });
        const allAcks: Ack[] = [];
        const allFailedKeys: string[] = [];
        const results: object[] = [];

        for (const [f, fault] of faults(partitionMs).entries()) {
            const perRound: Record<string, any>[] = [];
            for (let r = 0; r < rounds; r++) {
                const prefix = `/bench/faults/f${f}/r${r}/`;
                const loadStarted = now();
                const writers = Array.from({ length: writerCount }, (_, w) => new Writer(`${prefix}w${w}/`, writeClients, w, { pauseMs: writePauseMs, limitMs: roundLoadLimitMs, maxWrites: writesPerWriterLimit }));
                try {
                    await sleep(warmupMs);
                    const oldLeader = await members.waitLeader(WAIT_MS);
                    const oldTerm = (await poller(oldLeader).status()).raftTerm;
                    const faulty = fault.faulty(oldLeader, members);
                    const healthy = members.ordinals.filter((o) => !faulty.includes(o));

                    const faultAt = now();
                    for (const writer of writers) writer.markFault(faultAt);
                    await fault.inject(faulty, pods);
                    const injectedMs = now() - faultAt;
                    // A leader among the members the fault left alone (for a stop of all: after the start).
                    const leaderFound = async (among: number[]) => {
                        for (let poll = 0; poll < phaseLimitMs / pollMs && now() - faultAt < phaseLimitMs; poll++) {
                            const tick = now();
                            const statuses = await Promise.allSettled(among.map(async (o) => ({ o, status: await poller(o).status() })));
                            for (const s of statuses) {
                                if (s.status !== "fulfilled") continue;
                                const { o, status } = s.value;
                                if (status.leader === status.memberId && (!fault.leaderChanges || status.raftTerm > oldTerm)) return { ordinal: o, atMs: now() - faultAt, term: status.raftTerm };
                            }
                            await sleep(Math.max(0, pollMs - (now() - tick)));
                        }
                        throw new Error(`${fault.name}, round ${r}: no ${fault.leaderChanges ? "new " : ""}leader within ${phaseLimitMs} ms`);
                    };
                    let leader = healthy.length > 0 ? await leaderFound(healthy) : undefined;
                    if (fault.holdMs > 0) await sleep(Math.max(0, fault.holdMs - (now() - faultAt)));
                    const repairAt = now();
                    await fault.repair(faulty, pods);
                    leader ??= await leaderFound(members.ordinals);
                    // Caught up: healthy, and its revision has reached the leader's (read first, so ">=" under load means caught up).
                    const caughtUp: Record<number, number> = {};
                    for (let poll = 0; poll < phaseLimitMs / pollMs && now() - repairAt < phaseLimitMs && Object.keys(caughtUp).length < faulty.length; poll++) {
                        const tick = now();
                        for (const o of faulty.filter((x) => caughtUp[x] === undefined)) {
                            try {
                                const leaderNow = (await members.leader()) ?? leader.ordinal;
                                const target = (await poller(leaderNow).status()).revision;
                                if ((await poller(o).health()) && (await poller(o).status()).revision >= target) caughtUp[o] = now() - repairAt;
                            } catch {
                                // not back yet
                            }
                        }
                        await sleep(Math.max(0, pollMs - (now() - tick)));
                    }
                    if (Object.keys(caughtUp).length < faulty.length) throw new Error(`${fault.name}, round ${r}: members ${faulty.join(",")} not caught up within ${phaseLimitMs} ms of the repair`);
                    await sleep(cooldownMs);
                    await Promise.all(writers.map((w) => w.stop()));
                    const loadMs = now() - loadStarted;
                    await members.waitHealthy(WAIT_MS);

                    const acks = writers.flatMap((w) => w.acks);
                    const failures = writers.flatMap((w) => w.failures);
                    allAcks.push(...acks);
                    allFailedKeys.push(...failures.map((x) => x.key));
                    const reasons: Record<string, number> = {};
                    for (const x of failures) reasons[x.reason] = (reasons[x.reason] ?? 0) + 1;
                    const times = failures.map((x) => x.atMs);
                    perRound.push({
                        leader: pods.podName(oldLeader),
                        faulty: faulty.map((o) => pods.podName(o)),
                        faultInjectedMs: round1(injectedMs),
                        leaderAfter: pods.podName(leader.ordinal),
                        leaderMs: round1(leader.atMs),
                        raftTerm: { before: oldTerm, after: leader.term },
                        writesAcknowledged: acks.length,
                        writesFailed: failures.length,
                        failureWindowMs: { first: times.length ? round1(Math.min(...times)) : null, last: times.length ? round1(Math.max(...times)) : null, length: times.length ? round1(Math.max(...times) - Math.min(...times)) : 0 },
                        failureReasons: reasons,
                        repairToCaughtUpMs: Object.fromEntries(Object.entries(caughtUp).map(([o, ms]) => [pods.podName(Number(o)), round1(ms)])),
                        writesPerSecond: Math.round(acks.length / (loadMs / 1000)),
                    });
                } finally {
                    await Promise.all(writers.map((w) => w.stop()));
                }
            }
            results.push({
                fault: fault.name,
                rounds,
                [fault.leaderChanges ? "timeToNewLeaderMs" : "leaderStayedMs"]: summary(perRound.map((p) => p.leaderMs)),
                failureWindowMs: summary(perRound.map((p) => p.failureWindowMs.length)),
                writesFailed: summary(perRound.map((p) => p.writesFailed)),
                faultyCaughtUpMs: summary(perRound.flatMap((p) => Object.values(p.repairToCaughtUpMs) as number[])),
                perRound,
            });
        }

        // Every acknowledged write must be readable; a failed write may or may not have been applied.
        const reader = sandbox.etcdClient(members.clientUrl((await members.leader()) ?? 0), { timeoutMs: 30_000 });
        const stored = await reader.getPrefix("/bench/faults/");
        const lost = allAcks.filter((a) => stored.get(a.key) !== a.value);
        return {
            cluster: "the rendered prod StatefulSet as 3 pods in the pod sandbox (peers over mutual TLS by pod DNS names)",
            sandboxCost: {
                createMs: round1(sandboxMs),
                bootstrapOf3ToHealthyMs: round1(healthyMs),
                startToPodsReadyMs: round1(readyMs),
                note: "bootstrap: ordinal 0 founds, the others join as learners one at a time (etcd takes a member only once every voting member has been connected for 5 s)",
            },
            load: { writers: writerCount, writeTimeoutMs, pauseBetweenWritesMs: writePauseMs, failover: "a writer moves to the next member after a failed write", warmupMs, partitionMs, cooldownAfterCaughtUpMs: cooldownMs },
            acknowledgedWrites: allAcks.length,
            acknowledgedWritesLost: lost.length,
            failedWritesApplied: allFailedKeys.filter((k) => stored.has(k)).length,
            faults: results,
            ...(lost.length > 0 ? { lostKeys: lost.slice(0, 20).map((a) => a.key) } : {}),
        };
    } finally {
        await sandbox.close();
    }
}
