// A set of real etcd processes on loopback addresses (one 127.0.0.x per member,
// client port 2379), started, inspected, killed and restarted by member name.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { lockAddresses } from "./address-lock";
import { etcdBinaries } from "./binaries";
import { EtcdClient } from "./etcd-client";
import { EtcdMemberProcess } from "./member-process";
import { waitFor } from "./wait";

export interface MemberSpec {
  name: string;
  /** A loopback address, 127.0.0.x; the member's client URL is http(s)://<ip>:2379. */
  ip: string;
  args: string[];
  /** ETCD_* configuration; replaces any ETCD_* in process.env. */
  env: Record<string, string>;
  /** Kept across restartMember(); the caller creates and removes it. */
  dataDir: string;
}

export interface LocalClusterOptions {
  members: MemberSpec[];
  /** Where member logs go (<workDir>/logs/<name>.log). */
  workDir: string;
  /** etcd binary; default: etcdBinaries().etcd. */
  etcdBinary?: string;
  /**
   * CA certificate (PEM file) of members that serve clients over TLS: their clients then use
   * https://<ip>:2379 and trust only this CA. Default: plain http.
   */
  clientCa?: string;
  /**
   * How long start() waits for another process (e.g. a concurrent run of the
   * same test) to release the member addresses; default 45 s.
   */
  addressLockTimeoutMs?: number;
}

const STOP_TIMEOUT_MS = 10_000;
// Bounded so that stopAll() stays quick even when members do not answer.
const LEADER_LOOKUP_MS = 1000;
// Log lines per member appended to a waitHealthy() failure.
const HEALTH_LOG_LINES = 6;
const ADDRESS_LOCK_TIMEOUT_MS = 45_000;

export class LocalCluster {
  private readonly specs: Map<string, MemberSpec>;
  private readonly workDir: string;
  private etcdBinary: string | undefined;
  private readonly processes = new Map<string, EtcdMemberProcess>();
  private readonly clients = new Map<string, EtcdClient>();
  private readonly allStarted: EtcdMemberProcess[] = [];
  private readonly addressLockTimeoutMs: number;
  private releaseAddresses: (() => void) | undefined;

  constructor(options: LocalClusterOptions) {
    this.specs = new Map();
    const ca = options.clientCa === undefined ? undefined : readFileSync(options.clientCa);
    for (const spec of options.members) {
      if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(spec.ip)) {
        throw new Error(`member ${spec.name}: ip ${spec.ip} is not a loopback (127.0.0.0/8) address`);
      }
      if (this.specs.has(spec.name)) throw new Error(`duplicate member name ${spec.name}`);
      this.specs.set(spec.name, spec);
      this.clients.set(spec.name, new EtcdClient(`${ca ? "https" : "http"}://${spec.ip}:2379`, { tls: ca && { ca } }));
    }
    this.workDir = options.workDir;
    this.etcdBinary = options.etcdBinary;
    this.addressLockTimeoutMs = options.addressLockTimeoutMs ?? ADDRESS_LOCK_TIMEOUT_MS;
  }

  get names(): string[] {
    return [...this.specs.keys()];
  }

  /**
   * Starts every member (all spawned before any is waited on: they need each
   * other to form), once no other process holds the member addresses.
   */
  async start(): Promise<void> {
    await this.lockAddresses();
    for (const name of this.names) await this.startMember(name);
  }

  /** Client of member `name` (http(s)://<ip>:2379). */
  client(name: string): EtcdClient {
    const client = this.clients.get(name);
    if (!client) throw new Error(`no member named ${name}`);
    return client;
  }

  /**
   * Starts the members one after the other, each once the one before serves its peers: GET /version
   * on its advertised peer URL, with its own peer certificate when it has one, as a peer would.
   *
   * Why: members that start together on existing data dirs (after a restore) each wait ~7 s per peer
   * in etcd's initial corruption check (npm run bench measures that); a peer not yet started refuses
   * the connection at once, and one already serving answers at once.
   */
  async startInTurn(timeoutMs: number): Promise<void> {
    await this.lockAddresses();
    for (const name of this.names) {
      await this.startMember(name);
      const peer = peerClient(this.specs.get(name)!);
      await waitFor(`${name} serving its peers`, async () => Boolean(await peer.version()), { timeoutMs });
    }
  }

  /** The current process of member `name`, if it was started. */
  process(name: string): EtcdMemberProcess | undefined {
    return this.processes.get(name);
  }

  /** Pids of every process this cluster ever started (including killed ones). */
  startedPids(): number[] {
    return this.allStarted.map((p) => p.pid);
  }

  /** Names of members whose process is running. */
  runningMembers(): string[] {
    return this.names.filter((name) => this.processes.get(name)?.running);
  }

  /**
   * Waits until the members `names` (default: all) answer /health true and each
   * of them lists every member of the cluster as a started voting member. Fails
   * fast, with its log tail, if one of their processes exits meanwhile.
   */
  async waitHealthy(timeoutMs: number, names: string[] = this.names): Promise<void> {
    const expected = this.specs.size;
    const abort = new AbortController();
    for (const name of names) {
      const proc = this.processes.get(name);
      if (!proc?.running) throw new Error(`member ${name} is not running`);
      void proc.exited.then((info) =>
        abort.abort(new Error(`member ${name} exited (${JSON.stringify(info)}); log tail:\n${proc.logTail(20)}`)),
      );
    }
    const waited = waitFor(
      `members ${names.join(",")} healthy with ${expected} voting members`,
      async () => {
        for (const name of names) {
          const client = this.client(name);
          if (!(await client.health())) throw new Error(`${name}: /health is false`);
          const voting = (await client.memberList()).filter((m) => !m.isLearner && m.name !== "");
          if (voting.length !== expected) {
            throw new Error(`${name} lists ${voting.length} started voting members, want ${expected}`);
          }
        }
        return true;
      },
      { timeoutMs, signal: abort.signal },
    );
    try {
      await waited;
    } catch (err) {
      // etcd's own last words usually say why (e.g. "cluster ID mismatch", "address already in use").
      const tails = names.map((name) => `--- ${name}:\n${this.processes.get(name)?.logTail(HEALTH_LOG_LINES) ?? ""}`);
      throw new Error(`${(err as Error).message}\nmember log tails:\n${tails.join("\n")}`, { cause: err });
    }
  }

  /**
   * Name of the member that says it is the leader (its status' leader is its own
   * id), among running members; undefined if none does right now.
   */
  async leader(): Promise<string | undefined> {
    const statuses = await Promise.allSettled(
      this.runningMembers().map(async (name) => ({ name, status: await this.client(name).status() })),
    );
    const leaders = statuses
      .flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))
      .filter(({ status }) => status.leader !== "0" && status.leader === status.memberId)
      .sort((a, b) => b.status.raftTerm - a.status.raftTerm); // a deposed leader has the older term
    return leaders[0]?.name;
  }

  /** Waits until a member other than `former` leads; returns its name. */
  newLeader(former: string, timeoutMs: number): Promise<string> {
    return waitFor(
      "a new leader",
      async () => {
        const leader = await this.leader();
        return leader !== former && leader;
      },
      { timeoutMs },
    );
  }

  /** SIGKILLs member `name`'s process group; resolves once it has exited. */
  async killMember(name: string): Promise<void> {
    await this.process(name)?.kill();
  }

  /** SIGTERM (SIGKILL after `timeoutMs`) to member `name`; resolves once it has exited. */
  async stopMember(name: string, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    await this.process(name)?.stop(timeoutMs);
  }

  /** Starts member `name` again with the same spec and data dir (stopping it first if running). */
  async restartMember(name: string): Promise<void> {
    await this.stopMember(name);
    await this.lockAddresses();
    await this.startMember(name);
  }

  /**
   * Stops every process this cluster started: all but the leader in parallel,
   * then the leader. Idempotent.
   *
   * Why leader last: on SIGTERM a leader first tries to hand leadership to a
   * connected follower and waits for that up to etcd's request timeout (~7 s
   * with default settings) when the followers are shutting down too; with no
   * follower left it skips the transfer and exits at once.
   */
  async stopAll(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    const leaderName = this.runningMembers().length > 1 ? await this.leaderWithin(LEADER_LOOKUP_MS) : undefined;
    const leaderProc = leaderName === undefined ? undefined : this.processes.get(leaderName);
    await Promise.all(this.allStarted.filter((p) => p !== leaderProc).map((p) => p.stop(timeoutMs)));
    await leaderProc?.stop(timeoutMs);
    this.releaseAddresses?.();
    this.releaseAddresses = undefined;
  }

  private async lockAddresses(): Promise<void> {
    this.releaseAddresses ??= await lockAddresses(
      [...this.specs.values()].map((s) => s.ip),
      this.addressLockTimeoutMs,
    );
  }

  private async leaderWithin(ms: number): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([this.leader().catch(() => undefined), giveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async startMember(name: string): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`no member named ${name}`);
    if (this.processes.get(name)?.running) throw new Error(`member ${name} is already running`);
    this.etcdBinary ??= (await etcdBinaries()).etcd;
    const proc = new EtcdMemberProcess({
      binary: this.etcdBinary,
      args: spec.args,
      env: spec.env,
      logDir: path.join(this.workDir, "logs"),
      logName: name,
    });
    this.processes.set(name, proc);
    this.allStarted.push(proc);
  }
}

/** A client of the member's advertised peer URL, with the member's own peer TLS files when it has them. */
function peerClient(spec: MemberSpec): EtcdClient {
  const url = spec.env.ETCD_INITIAL_ADVERTISE_PEER_URLS?.split(",")[0];
  if (!url) throw new Error(`member ${spec.name}: no ETCD_INITIAL_ADVERTISE_PEER_URLS to reach its peer port`);
  const file = (variable: string): Buffer | undefined => (spec.env[variable] ? readFileSync(spec.env[variable]) : undefined);
  return new EtcdClient(url, {
    timeoutMs: 2000,
    tls: { ca: file("ETCD_PEER_TRUSTED_CA_FILE"), cert: file("ETCD_PEER_CERT_FILE"), key: file("ETCD_PEER_KEY_FILE") },
  });
}
