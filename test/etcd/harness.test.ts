// Exercises the real-etcd harness end to end: a 3-member cluster on loopback
// addresses forms, replicates, survives losing its leader, and leaves no
// process behind.
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { etcdBinaries } from "./binaries";
import { LocalCluster, type MemberSpec } from "./local-cluster";
import { waitFor } from "./wait";

jest.setTimeout(60_000);

const WAIT_MS = 20_000;

describe("LocalCluster with real etcd", () => {
  let workDir: string;
  let cluster: LocalCluster;
  const pids: number[] = [];

  beforeAll(async () => {
    const { etcd } = await etcdBinaries();
    workDir = mkdtempSync(path.join(os.tmpdir(), "etcd-harness-"));

    // Spelled out by hand on purpose: this test checks the harness, not any
    // config generator.
    const members = [
      { name: "m0", ip: "127.0.0.21" },
      { name: "m1", ip: "127.0.0.22" },
      { name: "m2", ip: "127.0.0.23" },
    ];
    const initialCluster = members.map((m) => `${m.name}=http://${m.ip}:2380`).join(",");
    // One token for all members (computed once): members whose tokens differ
    // get different cluster ids and never form a cluster.
    const token = `harness-${process.pid}-${Date.now()}`;
    const specs: MemberSpec[] = members.map((m) => {
      const dataDir = path.join(workDir, `${m.name}.etcd`);
      return {
        name: m.name,
        ip: m.ip,
        args: [],
        dataDir,
        env: {
          ETCD_NAME: m.name,
          ETCD_DATA_DIR: dataDir,
          ETCD_LISTEN_CLIENT_URLS: `http://${m.ip}:2379`,
          ETCD_ADVERTISE_CLIENT_URLS: `http://${m.ip}:2379`,
          ETCD_LISTEN_PEER_URLS: `http://${m.ip}:2380`,
          ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${m.ip}:2380`,
          ETCD_INITIAL_CLUSTER: initialCluster,
          ETCD_INITIAL_CLUSTER_STATE: "new",
          ETCD_INITIAL_CLUSTER_TOKEN: token,
        },
      };
    });
    cluster = new LocalCluster({ members: specs, workDir, etcdBinary: etcd });
    await cluster.start();
  });

  afterAll(async () => {
    await cluster?.stopAll();
    // KEEP_ETCD_WORKDIR=1 keeps data dirs and member logs (<workDir>/logs) to debug a failure.
    if (workDir && !process.env.KEEP_ETCD_WORKDIR) rmSync(workDir, { recursive: true, force: true });
    else if (workDir) console.log(`kept ${workDir}`);
  });

  test("forms with 3 voting members", async () => {
    await cluster.waitHealthy(WAIT_MS);
    const list = await cluster.client("m1").memberList();
    expect(list.map((m) => m.name).sort()).toEqual(["m0", "m1", "m2"]);
    expect(list.every((m) => !m.isLearner)).toBe(true);
    expect(list.every((m) => /^\d+$/.test(m.id))).toBe(true); // uint64 ids kept as strings
    const status = await cluster.client("m0").status();
    expect(status.version).toMatch(/^3\.5\./);
  });

  test("a write through m0 is read through m2", async () => {
    await cluster.client("m0").put("/harness/a", "hello");
    await cluster.client("m0").put("/harness/b", "world");
    await cluster.client("m0").put("/harnessX", "outside the prefix");
    expect(await cluster.client("m2").get("/harness/a")).toBe("hello");
    expect(await cluster.client("m2").get("/harness/missing")).toBeUndefined();
    expect(await cluster.client("m2").getPrefix("/harness/")).toEqual(
      new Map([
        ["/harness/a", "hello"],
        ["/harness/b", "world"],
      ]),
    );
  });

  test("after the leader is killed another leader emerges and writes succeed", async () => {
    const oldLeader = await waitFor("a leader", () => cluster.leader(), { timeoutMs: WAIT_MS });
    pids.push(...cluster.startedPids());
    await cluster.killMember(oldLeader);
    expect(cluster.process(oldLeader)?.running).toBe(false);

    const newLeader = await cluster.newLeader(oldLeader, WAIT_MS);
    expect(newLeader).not.toBe(oldLeader);

    const survivors = cluster.names.filter((n) => n !== oldLeader);
    // The first write may race the end of the election; a client would retry it.
    await waitFor("a write after failover", () => cluster.client(survivors[0]).put("/harness/after", "failover"), {
      timeoutMs: WAIT_MS,
    });
    expect(await cluster.client(survivors[1]).get("/harness/after")).toBe("failover");

    // The killed member comes back on its data dir and catches up.
    await cluster.restartMember(oldLeader);
    pids.push(cluster.process(oldLeader)!.pid);
    await cluster.waitHealthy(WAIT_MS);
    expect(await cluster.client(oldLeader).get("/harness/after")).toBe("failover");
  });

  test("stopAll leaves no process behind", async () => {
    pids.push(...cluster.startedPids());
    expect(pids.length).toBeGreaterThanOrEqual(3);
    await cluster.stopAll();
    await cluster.stopAll(); // idempotent
    for (const pid of new Set(pids)) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  });
});
