// A member killed between its membership steps, run as the rendered prod pods in the pod sandbox:
// after its old registration was removed, after its learner was added and before etcd started, and as
// a learner before its promotion. Each time it converges when it comes back: it is promoted, never two
// learners at once, no stale or unstarted member left in the cluster.
import type { MemberPods } from "../pod-sandbox/member-pods";
import type { StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import type { EtcdClient } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";
import { MemberCluster, memberNames, memberPeerUrl, MembershipWatch, waitVoting } from "./member-cluster";

jest.setTimeout(120_000);

const WAIT_MS = 45_000;
const NAMES = memberNames(3);

let cluster: MemberCluster;
let pods: StatefulSetPods;
let members: MemberPods;
let watch: MembershipWatch;

/** `wait`, and on failure what the membership steps of `ordinal` said and how often they restarted. */
async function withSteps<T>(ordinal: number, wait: Promise<T>): Promise<T> {
    return wait.catch((error) => {
        const name = pods.podName(ordinal);
        const restarts = cluster.sandbox.pods.filter((p) => p.name === name).map((p) => p.containerStatuses().map((c) => `${c.name}:${c.restarts}`).join(" "));
        throw new Error(`${(error as Error).message}\nrestarts of ${name}: ${restarts.join(" | ")}\nsteps:\n${cluster.stepLog(name)}`, { cause: error });
    });
}

const converged = (ordinal: number) => withSteps(ordinal, waitVoting(members, NAMES, WAIT_MS));

beforeAll(async () => {
    cluster = await MemberCluster.create();
    ({ pods, members } = cluster.at(3));
    watch = new MembershipWatch(members);
    await members.firstDeploy(cluster.plan, WAIT_MS);
    await waitVoting(members, NAMES, WAIT_MS);
});

afterAll(async () => {
    await watch?.stop();
    await cluster?.close();
});

describe("killed between membership steps", () => {
    /** Kills member `ordinal`'s pod, deletes its claim and removes its registration; returns the client that removed it. */
    async function loseRegistration(ordinal: number): Promise<EtcdClient> {
        const name = `apisix-etcd-${ordinal}`;
        const list = await members.client(0).memberList();
        await pods.killPod(ordinal);
        cluster.sandbox.deleteClaim(pods.claimName(ordinal));
        const client = cluster.sandbox.etcdClient(members.clientUrl(0));
        await waitFor(`the removal of ${name}`, () => client.memberRemove(list.find((m) => m.name === name)!.id).then(() => true), { timeoutMs: WAIT_MS, intervalMs: 500 });
        return client;
    }

    test("after its old registration was removed and before it was added again: it is added and promoted", async () => {
        // The removal the member-join step makes first, then the pod dies: the next one finds no registration.
        await loseRegistration(1);
        await pods.startPod(1);
        await converged(1);
        expect(cluster.stepLog("apisix-etcd-1")).toMatch(/added as learner \d+/);
    });

    test("after it was added and before etcd started: it starts with that registration, not a second one", async () => {
        const client = await loseRegistration(2);
        // etcd takes a member only once every voting member has been connected for 5 s: retry as the step does.
        const added = await waitFor("a learner registration for apisix-etcd-2", () => client.memberAddLearner(memberPeerUrl("apisix-etcd-2")), { timeoutMs: WAIT_MS, intervalMs: 500 });
        await pods.startPod(2);
        await converged(2);
        const after = await members.client(0).memberList();
        expect(after.find((m) => m.name === "apisix-etcd-2")!.id).toBe(added);
        expect(cluster.stepLog("apisix-etcd-2")).toMatch(new RegExp(`starting with its registration ${added} \\(added, never started\\)`));
    });

    test("as a learner, before its promotion: it comes back and is promoted", async () => {
        await pods.killPod(1);
        cluster.sandbox.deleteClaim(pods.claimName(1));
        // The kubelet starts the membership container late (its image still pulling, say), so the member runs
        // as a learner that nothing promotes yet: a started learner, named, whatever the machine's load.
        let pulled!: () => void;
        const pulling = new Promise<void>((resolve) => (pulled = resolve));
        await pods.startPod(1, (container) => (container === "membership" ? pulling : undefined));
        try {
            const learner = waitFor("member 1 runs as a learner", async () => (await members.client(0).memberList()).some((m) => m.name === "apisix-etcd-1" && m.isLearner) || undefined, {
                timeoutMs: WAIT_MS,
                intervalMs: 100,
            });
            await withSteps(1, learner);
            await pods.killPod(1);
        } finally {
            pulled();
        }
        // Killed as a learner: its registration is still one.
        expect((await members.client(0).memberList()).find((m) => m.name === "apisix-etcd-1")?.isLearner).toBe(true);
        await pods.startPod(1);
        await converged(1);
    });

    test("never two learners at once, and the end state has no unstarted or stale member", async () => {
        const violations = await watch.stop();
        expect(watch.seen.length).toBeGreaterThan(50);
        expect(violations).toEqual([]);
        const final = await members.client(0).memberList();
        expect(final.map((m) => m.name).sort()).toEqual(NAMES);
        expect(final.every((m) => !m.isLearner)).toBe(true);
    });
});
