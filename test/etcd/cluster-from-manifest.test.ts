// The rendered prod StatefulSet, run for real: its etcd container's command and
// env, as `npm run plan` renders them, start three etcd 3.5 members on loopback
// addresses (test/etcd/rendered-members.ts maps only DNS names, 0.0.0.0, the
// mounts and the binary; the Secrets are test-made, test/etcd/stack-secrets.ts).
// The cluster must form as the pods would, its peers over mutual TLS, keep
// every acknowledged write through the loss of its leader, take the killed
// member back on its data dir, and answer the rendered probes.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { etcdBinaries } from "./binaries";
import { EtcdClient, type EtcdMember } from "./etcd-client";
import { waitForFreePorts } from "./free-ports";
import { LocalCluster } from "./local-cluster";
import { makeMemberSecrets } from "./stack-secrets";
import { probeStatus, type HttpProbe } from "./probes";
import { membersFromStatefulSet, type RenderedMemberSpec } from "./rendered-members";
import { waitFor } from "./wait";

jest.setTimeout(120_000);

/** Not used by any other test file (harness.test.ts has 127.0.0.21-23). */
const IPS = ["127.0.0.31", "127.0.0.32", "127.0.0.33"];
const WAIT_MS = 20_000;
const PREFIX = "/cluster-from-manifest/";

describe("the rendered prod StatefulSet run as real etcd members", () => {
  let workDir: string;
  let statefulSet: RenderedManifest;
  let members: RenderedMemberSpec[];
  let cluster: LocalCluster;
  let initialMembers: EtcdMember[];
  /** Every write an etcd member acknowledged, key -> value. */
  const acknowledged = new Map<string, string>();
  // Short per-request timeouts: a write to a member that lost its leader fails fast and is retried elsewhere.
  const clients = new Map<string, EtcdClient>();
  const client = (name: string): EtcdClient => clients.get(name)!;

  const member = (name: string): RenderedMemberSpec => members.find((m) => m.name === name)!;
  const etcdContainer = () => (statefulSet.spec.template.spec.containers as { name: string }[]).find((c) => c.name === "etcd") as any;

  /** Writes `key` through `preferred`, else through the next running member, until one acknowledges it. */
  async function putAcknowledged(key: string, value: string, preferred: number): Promise<void> {
    let attempt = preferred;
    await waitFor(
      `an acknowledged write of ${key}`,
      async () => {
        const running = cluster.runningMembers();
        const name = running[attempt++ % running.length];
        await client(name).put(key, value);
        return true;
      },
      { timeoutMs: WAIT_MS, intervalMs: 50 },
    );
    acknowledged.set(key, value);
  }

  /** The acknowledged writes under `prefix`. */
  const acknowledgedUnder = (prefix: string) => new Map([...acknowledged].filter(([key]) => key.startsWith(prefix)));

  beforeAll(async () => {
    const { binDir } = await etcdBinaries();
    workDir = mkdtempSync(path.join(os.tmpdir(), "etcd-from-manifest-"));
    const { manifests, plan } = renderedPlan("prod");
    statefulSet = findManifest(manifests, "StatefulSet", "apisix-etcd");
    const { secrets } = makeMemberSecrets(path.join(workDir, "secrets"), { manifests, resources: plan.resources }, IPS);
    members = membersFromStatefulSet(statefulSet, { ips: IPS, dataRoot: path.join(workDir, "volumes"), binDir, secrets });
    for (const m of members) clients.set(m.name, new EtcdClient(`http://${m.ip}:2379`, { timeoutMs: 2000 }));
    cluster = new LocalCluster({ members, workDir, etcdBinary: members[0].binary });
    // Another run of this file on the same machine holds these addresses for ~15 s: queue behind it.
    await waitForFreePorts(IPS, [2379, 2380, 2381], 60_000);
    await cluster.start();
    await cluster.waitHealthy(WAIT_MS);
    initialMembers = await client(members[0].name).memberList();
  });

  afterAll(async () => {
    await cluster?.stopAll();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test("prod renders 3 replicas, each started from the rendered command, not a shell", () => {
    expect(statefulSet.spec.replicas).toBe(3);
    expect(members.map((m) => m.name)).toEqual(["apisix-etcd-0", "apisix-etcd-1", "apisix-etcd-2"]);
    expect(path.basename(etcdContainer().command[0])).toBe("etcd");
    expect(new Set(members.map((m) => m.binary)).size).toBe(1);
  });

  test("forms one cluster of 3 voting members named after the pods, with the rendered URLs", async () => {
    for (const m of members) {
      const list = await client(m.name).memberList();
      expect(list.map((x) => x.name).sort()).toEqual(members.map((x) => x.name));
      expect(list.filter((x) => x.isLearner)).toEqual([]);
      // Every member sees the same cluster, not a cluster of its own.
      expect(list.map((x) => x.id).sort()).toEqual(initialMembers.map((x) => x.id).sort());
    }
    for (const listed of initialMembers) {
      const spec = member(listed.name);
      // As rendered ($(POD_NAME) expanded, the pod's DNS name mapped to its loopback address).
      expect(listed.peerURLs).toEqual(spec.env.ETCD_INITIAL_ADVERTISE_PEER_URLS.split(","));
      expect(listed.clientURLs).toEqual(spec.env.ETCD_ADVERTISE_CLIENT_URLS.split(","));
      expect(listed.peerURLs).toEqual([`https://${spec.ip}:2380`]);
      // The peer URL each member advertises is the one every member was told in --initial-cluster.
      expect(spec.env.ETCD_INITIAL_CLUSTER.split(",")).toContain(`${listed.name}=${listed.peerURLs[0]}`);
    }
    const status = await client(members[0].name).status();
    expect(status.version).toMatch(/^3\.5\./);
  });

  test("etcd reads every rendered ETCD_* variable (none unrecognized or ignored)", () => {
    for (const m of members) {
      const log = readFileSync(cluster.process(m.name)!.logFile, "utf8");
      expect(log).toContain('"msg":"starting an etcd server"'); // the log is etcd's, and complete enough
      const unrecognized = log.split("\n").filter((line) => /unrecognized environment variable|shadowed by corresponding command-line flag/.test(line));
      expect(unrecognized).toEqual([]);
    }
  });

  test("the rendered settings are in effect (backend quota, extensive metrics)", async () => {
    const rendered = etcdContainer().env as { name: string; value?: string }[];
    const quota = Number(rendered.find((e) => e.name === "ETCD_QUOTA_BACKEND_BYTES")!.value);
    expect(quota).toBeGreaterThan(0);
    for (const m of members) {
      const metrics = await (await fetch(`http://${m.ip}:2381/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      const line = metrics.split("\n").find((l) => l.startsWith("etcd_server_quota_backend_bytes "));
      expect(Number(line?.split(" ")[1])).toBe(quota);
      // ETCD_METRICS=extensive: per-method gRPC latency histograms exist.
      expect(metrics).toContain("grpc_server_handling_seconds_bucket");
    }
  });

  test("a write through each member is read through the others", async () => {
    for (const [i, writer] of members.entries()) {
      const key = `${PREFIX}through/${writer.name}`;
      await client(writer.name).put(key, `written via ${writer.name} #${i}`);
      acknowledged.set(key, `written via ${writer.name} #${i}`);
      for (const reader of members.filter((m) => m !== writer)) {
        expect(await client(reader.name).get(key)).toBe(`written via ${writer.name} #${i}`);
      }
    }
  });

  test("the rendered liveness, readiness and startup probes answer 200 on every member", async () => {
    const container = etcdContainer();
    const probes: [string, HttpProbe][] = [
      ["livenessProbe", container.livenessProbe],
      ["readinessProbe", container.readinessProbe],
      ["startupProbe", container.startupProbe],
    ];
    for (const m of members) {
      for (const [kind, probe] of probes) {
        expect({ kind, status: (await probeStatus(container, probe, m.ip)).status }).toEqual({ kind, status: 200 });
      }
    }
  });

  test("kill -9 of the leader: another member leads and no acknowledged write is lost", async () => {
    // A bounded batch before the failure ...
    for (let n = 0; n < 100; n += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => putAcknowledged(`${PREFIX}failover/before/${n + j}`, `before-${n + j}`, n + j)));
    }
    const oldLeader = await waitFor("a leader", () => cluster.leader(), { timeoutMs: WAIT_MS });

    // ... and one that is being written while the leader dies.
    let reachedKillPoint!: () => void;
    const killPoint = new Promise<void>((resolve) => (reachedKillPoint = resolve));
    const writer = (async () => {
      for (let n = 0; n < 100; n++) {
        await putAcknowledged(`${PREFIX}failover/during/${n}`, `during-${n}`, n);
        if (n === 29) reachedKillPoint();
      }
    })();
    await Promise.race([killPoint, writer]);
    await cluster.killMember(oldLeader);
    expect(await cluster.process(oldLeader)!.exited).toEqual({ code: null, signal: "SIGKILL" });
    await writer;

    const newLeader = await cluster.newLeader(oldLeader, WAIT_MS);
    expect(members.map((m) => m.name)).toContain(newLeader);
    expect(newLeader).not.toBe(oldLeader);

    const expected = acknowledgedUnder(`${PREFIX}failover/`);
    expect(expected.size).toBe(200);
    for (const survivor of cluster.runningMembers()) {
      expect(await client(survivor).getPrefix(`${PREFIX}failover/`)).toEqual(expected);
    }

    // Writes made while the old leader is down, for it to catch up on.
    for (let n = 0; n < 20; n++) await putAcknowledged(`${PREFIX}while-down/${n}`, `while-down-${n}`, n);

    // The killed member restarts on its data dir and rejoins as the same member.
    expect(cluster.runningMembers()).not.toContain(oldLeader);
    await cluster.restartMember(oldLeader);
    await cluster.waitHealthy(WAIT_MS);
    const list = await client(oldLeader).memberList();
    expect(list.filter((x) => !x.isLearner).map((x) => x.id).sort()).toEqual(initialMembers.map((x) => x.id).sort());
    const memberId = initialMembers.find((x) => x.name === oldLeader)!.id;
    expect((await client(oldLeader).status()).memberId).toBe(memberId);
    // Linearizable reads through it: it has caught up on everything acknowledged, including while it was down.
    expect(await client(oldLeader).getPrefix(PREFIX)).toEqual(acknowledgedUnder(PREFIX));
    expect((await client(oldLeader).getPrefix(`${PREFIX}while-down/`)).size).toBe(20);
  });

  test("without quorum a member stays live (no restart) but turns unready (no traffic)", async () => {
    const container = etcdContainer();
    const [kept, ...lost] = members;
    for (const m of lost) await cluster.killMember(m.name);
    const readiness = await waitFor(
      "the readiness probe to fail without quorum",
      async () => {
        const result = await probeStatus(container, container.readinessProbe, kept.ip);
        return result.status !== 200 && result;
      },
      { timeoutMs: WAIT_MS },
    );
    expect(readiness.status).not.toBe(200);
    expect((await probeStatus(container, container.livenessProbe, kept.ip)).status).toBe(200);
    expect((await probeStatus(container, container.startupProbe, kept.ip)).status).toBe(200);
  });

  test("stopping the cluster leaves no etcd process behind", async () => {
    const pids = cluster.startedPids();
    expect(pids.length).toBe(4); // three members and the restart
    await cluster.stopAll();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
