// The rendered prod StatefulSet, run for real in the pod sandbox (test/pod-sandbox): its pods exactly
// as `npm run plan` renders them, nothing rewritten: each member in its own network namespace at its
// pod DNS name, as UID 65532 on a read-only root with its claim at /var/lib/etcd and the test-made
// Secrets at /etc/etcd/tls and /etc/etcd/jwt, peers over mutual TLS checked through DNS. The cluster
// must form as the pods would, serve its Service only from ready members, keep every acknowledged
// write through the loss of its leader and a partitioned leader or follower, and take each member
// back on its claim at a new address. Every member stopped at once and started together:
// test/membership/member-lifecycle.test.ts; the backup and defragmentation Jobs with one member down:
// test/backup/backup-restore.test.ts and test/defrag/defrag.test.ts.
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { probeOnce } from "../pod-sandbox/probe";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";
import type { EtcdMember } from "./etcd-client";
import { waitFor } from "./wait";

jest.setTimeout(120_000);

const WAIT_MS = 20_000;
const PREFIX = "/cluster-from-manifest/";
const PEER_URL = (pod: string) => `https://${pod}.apisix-etcd-headless.etcd.svc.cluster.local:2380`;

describe("the rendered prod StatefulSet run as pods in the sandbox", () => {
    let statefulSet: RenderedManifest;
    let sandbox: PodSandbox;
    let pods: StatefulSetPods;
    let members: MemberPods;
    let initialMembers: EtcdMember[];
    /** Every write an etcd member acknowledged, key -> value. */
    const acknowledged = new Map<string, string>();

    const etcdContainer = () => (statefulSet.spec.template.spec.containers as { name: string }[]).find((c) => c.name === "etcd") as any;

    /** Writes `key` through member `preferred`, else through the next of `through`, until one acknowledges it. */
    async function putAcknowledged(key: string, value: string, preferred: number, through: () => number[] = () => members.running()): Promise<void> {
        let attempt = preferred;
        await waitFor(
            `an acknowledged write of ${key}`,
            async () => {
                const candidates = through();
                await members.client(candidates[attempt++ % candidates.length]).put(key, value);
                return true;
            },
            { timeoutMs: WAIT_MS, intervalMs: 50 },
        );
        acknowledged.set(key, value);
    }

    const acknowledgedUnder = (prefix: string) => new Map([...acknowledged].filter(([key]) => key.startsWith(prefix)));

    beforeAll(async () => {
        const { manifests, plan } = renderedPlan("prod");
        statefulSet = findManifest(manifests, "StatefulSet", "apisix-etcd");
        sandbox = await PodSandbox.create({ manifests, secrets: stackSecrets({ manifests, resources: plan.resources }).secrets });
        pods = sandbox.statefulSet(statefulSet);
        members = new MemberPods(sandbox, pods);
        await members.firstDeploy(plan, WAIT_MS);
        initialMembers = await members.client(0).memberList();
    });

    afterAll(async () => {
        await sandbox?.close();
    });

    test("prod renders 3 replicas, each pod started from the rendered command, not a shell", () => {
        expect(statefulSet.spec.replicas).toBe(3);
        expect(pods.podNames).toEqual(["apisix-etcd-0", "apisix-etcd-1", "apisix-etcd-2"]);
        expect(etcdContainer().command).toEqual(["/usr/local/bin/etcd"]);
        for (const ordinal of members.ordinals) {
            const pid = pods.pod(ordinal).containerStatuses().find((c) => c.name === "etcd")!.pid!;
            expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("/usr/local/bin/etcd\0--config-file=/etc/etcd/member/etcd.yaml\0");
        }
    });

    test("forms one cluster of 3 voting members named after the pods, with the rendered DNS URLs", async () => {
        for (const ordinal of members.ordinals) {
            const list = await members.client(ordinal).memberList();
            expect(list.map((x) => x.name).sort()).toEqual(pods.podNames);
            expect(list.filter((x) => x.isLearner)).toEqual([]);
            expect(list.map((x) => x.id).sort()).toEqual(initialMembers.map((x) => x.id).sort());
        }
        for (const listed of initialMembers) {
            // Exactly as rendered: $(POD_NAME) expanded, the pod DNS names untouched.
            expect(listed.peerURLs).toEqual([PEER_URL(listed.name)]);
            expect(listed.clientURLs).toEqual([`http://${listed.name}.apisix-etcd-headless.etcd.svc.cluster.local:2379`]);
        }
        expect((await members.client(0).status()).version).toMatch(/^3\.5\./);
    });

    test("each member runs as UID/GID 65532 with fsGroup 65532, its data on its claim, owned by that user", () => {
        for (const ordinal of members.ordinals) {
            const pid = pods.pod(ordinal).containerStatuses().find((c) => c.name === "etcd")!.pid!;
            const status = readFileSync(`/proc/${pid}/status`, "utf8");
            expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
            expect(status).toMatch(/^Groups:\s+65532\s*$/m);
            // /var/lib/etcd is the claim data-apisix-etcd-<i>; etcd made its data dir there, 0700.
            const data = statSync(path.join(sandbox.claimDir(pods.claimName(ordinal)), "data"));
            expect({ uid: data.uid, mode: (data.mode & 0o777).toString(8) }).toEqual({ uid: 65532, mode: "700" });
        }
        expect(pods.claimName(0)).toBe("data-apisix-etcd-0");
    });

    test("etcd reads only the configuration file the member-join step wrote, no variable unrecognized or ignored", () => {
        for (const ordinal of members.ordinals) {
            const log = pods.pod(ordinal).logs("etcd");
            expect(log).toContain('"msg":"starting an etcd server"');
            expect(log).toMatch(/"msg":"loaded server configuration, other configuration command line flags and environment variables will be ignored if provided","path":"\/etc\/etcd\/member\/etcd\.yaml"/);
            expect(log.split("\n").filter((line) => /unrecognized environment variable|shadowed by corresponding command-line flag/.test(line))).toEqual([]);
        }
    });

    test("the rendered settings are in effect (backend quota, extensive metrics)", async () => {
        const declared = findManifest(renderedPlan("prod").manifests, "ConfigMap", "apisix-etcd-config").data["etcd.yaml"] as string;
        const quota = Number(/^quota-backend-bytes: (\d+)$/m.exec(declared)![1]);
        expect(quota).toBeGreaterThan(0);
        for (const name of pods.podNames) {
            const { body } = await sandbox.http(`http://${name}.apisix-etcd-headless.etcd.svc.cluster.local:2381/metrics`, { timeoutMs: 5000 });
            expect(Number(body.split("\n").find((l) => l.startsWith("etcd_server_quota_backend_bytes "))?.split(" ")[1])).toBe(quota);
            expect(body).toContain("grpc_server_handling_seconds_bucket");
        }
    });

    test("a write through each member is read through the others", async () => {
        for (const writer of members.ordinals) {
            const key = `${PREFIX}through/${writer}`;
            await members.client(writer).put(key, `written via ${writer}`);
            acknowledged.set(key, `written via ${writer}`);
            for (const reader of members.ordinals.filter((o) => o !== writer)) expect(await members.client(reader).get(key)).toBe(`written via ${writer}`);
        }
    });

    test("a partitioned leader: the minority refuses writes, the majority elects a leader and keeps every acknowledged write, the old leader rejoins", async () => {
        const oldLeader = await members.waitLeader(WAIT_MS);
        const majority = members.ordinals.filter((o) => o !== oldLeader);
        await pods.setLink(oldLeader, false);
        try {
            const newLeader = await members.newLeader(oldLeader, WAIT_MS, majority);
            expect(majority).toContain(newLeader);
            for (let n = 0; n < 30; n++) await putAcknowledged(`${PREFIX}partition/leader/${n}`, `p-${n}`, n, () => majority);
            // Inside the isolated pod (kubectl exec): no quorum, so no write and no linearizable read.
            const write = await members.etcdctl(oldLeader, ["--command-timeout=3s", "put", `${PREFIX}partition/minority`, "lost"]);
            expect(write.code).not.toBe(0);
            expect(write.output).toMatch(/timed out|no leader|deadline exceeded/);
            expect((await members.etcdctl(oldLeader, ["--command-timeout=2s", "get", `${PREFIX}partition/leader/0`])).code).not.toBe(0);
        } finally {
            await pods.setLink(oldLeader, true);
        }
        await members.waitHealthy(WAIT_MS);
        await waitFor("the old leader caught up", async () => (await members.client(oldLeader).getPrefix(PREFIX)).size === acknowledgedUnder(PREFIX).size, { timeoutMs: WAIT_MS });
        expect(await members.client(oldLeader).getPrefix(PREFIX)).toEqual(acknowledgedUnder(PREFIX)); // and not the refused write
        expect(await members.leader()).not.toBe(oldLeader);
    });

    test("a partitioned follower: the leader stays, writes go on, the follower catches up after", async () => {
        const leader = await members.waitLeader(WAIT_MS);
        const follower = members.ordinals.find((o) => o !== leader)!;
        await pods.setLink(follower, false);
        try {
            for (let n = 0; n < 30; n++) await putAcknowledged(`${PREFIX}partition/follower/${n}`, `f-${n}`, n, () => members.ordinals.filter((o) => o !== follower));
            expect(await members.leader(members.ordinals.filter((o) => o !== follower))).toBe(leader);
        } finally {
            await pods.setLink(follower, true);
        }
        await waitFor("the follower caught up", async () => (await members.client(follower).getPrefix(PREFIX)).size === acknowledgedUnder(PREFIX).size, { timeoutMs: WAIT_MS });
        expect(await members.client(follower).getPrefix(PREFIX)).toEqual(acknowledgedUnder(PREFIX));
    });

    // By now every pod has been up long enough for the kubelet's probes (5 s periods) to find it Ready.
    test("the kubelet finds every pod Ready by the rendered probes; the client Service routes to them", async () => {
        await pods.waitReady(WAIT_MS);
        const container = etcdContainer();
        for (const ordinal of members.ordinals) {
            for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                expect({ kind, success: (await probeOnce(sandbox.dial, pods.pod(ordinal).ip, container, container[kind])).success }).toEqual({ kind, success: true });
            }
        }
        const service = sandbox.etcdClient("http://apisix-etcd.etcd.svc.cluster.local:2379");
        await service.put(`${PREFIX}via-service`, "v");
        acknowledged.set(`${PREFIX}via-service`, "v");
        expect(await members.client(2).get(`${PREFIX}via-service`)).toBe("v");
    });

    test("a member back at a new address is refused by peers whose DNS still answers its old one, and rejoins once DNS follows", async () => {
        const leader = await members.waitLeader(WAIT_MS);
        const moved = members.ordinals.find((o) => o !== leader)!;
        const others = members.ordinals.filter((o) => o !== moved);
        const name = `${pods.podName(moved)}.apisix-etcd-headless.etcd.svc.cluster.local`;
        const oldIp = pods.pod(moved).ip;
        // Stale answers in the other members' resolvers, as after a reschedule on GKE.
        for (const o of others) sandbox.pinHostsEntry(pods.podName(o), name, oldIp);
        try {
            await pods.deletePod(moved);
            for (let n = 0; n < 20; n++) await putAcknowledged(`${PREFIX}moved/${n}`, `m-${n}`, n, () => others);
            const pod = await pods.startPod(moved);
            expect(pod.ip).not.toBe(oldIp);
            // etcd checks a connecting peer's address against its certificate's names through DNS (3.5 reads
            // no switch for it from a configuration file): the stale answer does not match the new address.
            await waitFor(
                "the peers refusing the moved member",
                async () => others.some((o) => /rejected connection on peer endpoint/.test(pods.pod(o).logs("etcd"))) || undefined,
                { timeoutMs: WAIT_MS },
            );
        } finally {
            sandbox.unpinHostsEntries();
        }
        await members.waitHealthy(WAIT_MS);
        await waitFor("the moved member caught up", async () => (await members.client(moved).getPrefix(PREFIX)).size === acknowledgedUnder(PREFIX).size, { timeoutMs: WAIT_MS });
        expect(await members.client(moved).getPrefix(PREFIX)).toEqual(acknowledgedUnder(PREFIX));
    });

    test("kill -9 of the leader's pod: another member leads, no acknowledged write is lost, the new pod rejoins on its claim", async () => {
        for (let n = 0; n < 60; n += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => putAcknowledged(`${PREFIX}failover/before/${n + j}`, `before-${n + j}`, n + j)));
        const oldLeader = await members.waitLeader(WAIT_MS);
        const oldIp = pods.pod(oldLeader).ip;

        let reachedKillPoint!: () => void;
        const killPoint = new Promise<void>((resolve) => (reachedKillPoint = resolve));
        const writer = (async () => {
            for (let n = 0; n < 60; n++) {
                await putAcknowledged(`${PREFIX}failover/during/${n}`, `during-${n}`, n);
                if (n === 19) reachedKillPoint();
            }
        })();
        await Promise.race([killPoint, writer]);
        await pods.killPod(oldLeader);
        await writer;

        const newLeader = await members.newLeader(oldLeader, WAIT_MS);
        expect(newLeader).not.toBe(oldLeader);
        const expected = acknowledgedUnder(`${PREFIX}failover/`);
        expect(expected.size).toBe(120);
        for (const survivor of members.running()) expect(await members.client(survivor).getPrefix(`${PREFIX}failover/`)).toEqual(expected);
        for (let n = 0; n < 20; n++) await putAcknowledged(`${PREFIX}while-down/${n}`, `while-down-${n}`, n);

        // The StatefulSet makes the pod again: same name and claim, a new address.
        const pod = await pods.startPod(oldLeader);
        expect(pod.ip).not.toBe(oldIp);
        await members.waitHealthy(WAIT_MS);
        expect((await members.client(oldLeader).status()).memberId).toBe(initialMembers.find((m) => m.name === pods.podName(oldLeader))!.id);
        expect(await members.client(oldLeader).getPrefix(PREFIX)).toEqual(acknowledgedUnder(PREFIX));
    });

    test("without quorum a member stays live (no restart) but turns unready (out of the Service)", async () => {
        const container = etcdContainer();
        const [kept, ...lost] = members.ordinals;
        for (const ordinal of lost) await pods.killPod(ordinal);
        const ip = pods.pod(kept).ip;
        await waitFor("the readiness probe to fail without quorum", async () => !(await probeOnce(sandbox.dial, ip, container, container.readinessProbe)).success, { timeoutMs: WAIT_MS });
        expect((await probeOnce(sandbox.dial, ip, container, container.livenessProbe)).success).toBe(true);
        expect((await probeOnce(sandbox.dial, ip, container, container.startupProbe)).success).toBe(true);
    });

    test("closing the sandbox leaves no member process behind", async () => {
        const pids = sandbox.pods.flatMap((p) => p.containerStatuses().flatMap((s) => (s.pid === undefined ? [] : [s.pid])));
        expect(pids.length).toBeGreaterThanOrEqual(3 + 1 + 3);
        await sandbox.close();
        for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    });
});
