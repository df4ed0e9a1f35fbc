// Members that manage their own membership, run as the rendered prod pods in the pod sandbox: a first
// deploy bootstraps the cluster (the first member founds it, the others join one learner at a time);
// members restart on their own data under the same IDs, one or all at once; a member whose volume is
// lost rejoins under a new ID as a learner and is promoted once in sync. Never two learners, never a learner
// behind the client Service. (A member killed between its membership steps: member-crash.test.ts.)
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { MemberPods } from "../pod-sandbox/member-pods";
import type { StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import type { EtcdMember } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";
import { MemberCluster, memberNames, memberPeerUrl, MembershipWatch, stepTails, waitVoting } from "./member-cluster";

jest.setTimeout(120_000);

const WAIT_MS = 45_000;
const NAMES = memberNames(3);

let cluster: MemberCluster;
let pods: StatefulSetPods;
let members: MemberPods;
let watch: MembershipWatch;
let founded: EtcdMember[];
let bootstrapMs: number;

/** Writes `count` keys under `prefix` through member `ordinal` (a live one). */
async function writeKeys(prefix: string, count: number, ordinal = members.running()[0]): Promise<void> {
    for (let i = 0; i < count; i++) await members.client(ordinal).put(`${prefix}${i}`, `value-${i}`);
}
/** The keys under `prefix` of every running member, serializable reads of each one's own copy. */
async function everyCopy(prefix: string): Promise<Map<string, string>[]> {
    return Promise.all(members.running().map((ordinal) => members.client(ordinal).getPrefix(prefix)));
}
const idsByName = (list: readonly EtcdMember[]) => Object.fromEntries(list.map((m) => [m.name, m.id]));

beforeAll(async () => {
    cluster = await MemberCluster.create();
    ({ pods, members } = cluster.at(3));
    watch = new MembershipWatch(members);
    const started = Date.now();
    await members.firstDeploy(cluster.plan, WAIT_MS);
    bootstrapMs = Date.now() - started;
    founded = await waitVoting(members, NAMES, WAIT_MS);
});

afterAll(async () => {
    await watch?.stop();
    await cluster?.close();
});

describe("a first deploy", () => {
    test("forms one cluster of the three pods, every member voting, by their DNS peer URLs", async () => {
        expect(founded.map((m) => m.name).sort()).toEqual(NAMES);
        for (const member of founded) expect(member.peerURLs).toEqual([memberPeerUrl(member.name)]);
        // One cluster: every member lists the same three IDs.
        const views = await Promise.all(members.ordinals.map(async (o) => (await members.client(o).memberList()).map((m) => m.id).sort().join(",")));
        expect(new Set(views)).toEqual(new Set([founded.map((m) => m.id).sort().join(",")]));
        expect(bootstrapMs).toBeLessThan(WAIT_MS);
    });

    test("only ordinal 0 founds it, with a new random token; the others join as learners and are promoted", () => {
        const founder = cluster.stepLog("apisix-etcd-0");
        expect(founder).toMatch(/founding a new cluster with token apisix-etcd-[0-9a-f]{16}: no member answers/);
        for (const name of NAMES.slice(1)) {
            const log = cluster.stepLog(name);
            expect(log).not.toContain("founding");
            expect(log).toMatch(/added as learner \d+; initial cluster /);
            expect(log).toMatch(/promoted \d+ to a voting member/);
        }
    });

    test("the etcd of each pod reads the file the member-join step wrote, with its own name", () => {
        for (const ordinal of members.ordinals) {
            const pod = pods.pod(ordinal);
            const file = readFileSync(path.join(pod.dir, "volumes", "member-config", "etcd.yaml"), "utf8");
            expect(file).toContain(`name: ${pods.podName(ordinal)}\n`);
            expect(file).not.toContain("$(POD_NAME)");
            expect(file).toMatch(/^initial-cluster-state: (new|existing)$/m);
        }
    });
});

describe("restarts on their own data", () => {
    test("one member restarted keeps its ID and the cluster; no new registration", async () => {
        await writeKeys("/lifecycle/one/", 20);
        const before = idsByName(await members.client(0).memberList());
        await pods.deletePod(1);
        await pods.startPod(1);
        const after = await waitVoting(members, NAMES, WAIT_MS);
        expect(idsByName(after)).toEqual(before);
        expect(cluster.stepLog("apisix-etcd-1")).toMatch(/starting on the data in \/var\/lib\/etcd\/data \(it has a WAL\)/);
        await waitFor("member 1 caught up", async () => (await members.client(1).getPrefix("/lifecycle/one/")).size === 20, { timeoutMs: WAIT_MS });
    });

    test("every member stopped and started together: same IDs, same cluster, nothing lost, nobody founds", async () => {
        const before = idsByName(await members.client(0).memberList());
        await pods.stopAll();
        await pods.startAll();
        const after = await waitVoting(members, NAMES, WAIT_MS);
        expect(idsByName(after)).toEqual(before);
        expect(cluster.stepLog("apisix-etcd-0").match(/founding a new cluster/g)).toHaveLength(1);
        for (const copy of await everyCopy("/lifecycle/one/")) expect(copy.size).toBe(20);
    });
});

describe("a lost volume", () => {
    test("the member's old registration is removed, it rejoins as a learner under a new ID, every key equal", async () => {
        await writeKeys("/lifecycle/lost/", 50, 0);
        const before = idsByName(await members.client(0).memberList());
        await pods.killPod(2);
        cluster.sandbox.deleteClaim(pods.claimName(2));
        await pods.startPod(2);
        await waitFor("apisix-etcd-2 under a new ID", async () => {
            const id = (await members.client(0).memberList()).find((m) => m.name === "apisix-etcd-2")?.id;
            return id !== undefined && id !== before["apisix-etcd-2"];
        }, { timeoutMs: WAIT_MS }).catch((error) => {
            throw new Error(`${(error as Error).message}\n${stepTails(members)}`, { cause: error });
        });
        const after = await waitVoting(members, NAMES, WAIT_MS);
        expect(idsByName(after)["apisix-etcd-0"]).toBe(before["apisix-etcd-0"]);
        expect(cluster.stepLog("apisix-etcd-2")).toMatch(new RegExp(`removed the old registration ${before["apisix-etcd-2"]} of apisix-etcd-2: its data is gone`));
        await waitFor("member 2 holds every key", async () => (await members.client(2).getPrefix("/lifecycle/lost/")).size === 50, { timeoutMs: WAIT_MS });
        // It never started on the empty data dir under its old ID (etcd's "out of range" panic).
        expect(cluster.etcdLog("apisix-etcd-2")).not.toMatch(/tocommit\(\d+\) is out of range|panic/);
    });
});

describe("the whole run", () => {
    test("never two learners at once, and the end state has no unstarted or stale member", async () => {
        const violations = await watch.stop();
        expect(watch.seen.length).toBeGreaterThan(50);
        expect(violations).toEqual([]);
        const final = await members.client(0).memberList();
        expect(final.map((m) => m.name).sort()).toEqual(NAMES);
        expect(final.every((m) => !m.isLearner)).toBe(true);
    });
});
