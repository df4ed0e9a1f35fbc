// Changing `replicas` with `pulumi up` alone, run as the rendered prod pods in the pod sandbox: 3 -> 5
// grows one learner at a time and promotes each once in sync; 5 -> 3 runs the rendered scale-down Job
// first (as the StatefulSet depends on it), which removes members 4 and 3 before their pods go, so
// quorum never rests on a pod being deleted; the members that stay are never restarted. Growing again
// onto the claims the scale-down kept starts the new members afresh. (No second cluster, ever:
// member-no-second-cluster.test.ts.)
import type { MemberPods } from "../pod-sandbox/member-pods";
import type { StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { waitFor } from "../etcd/wait";
import { etcdProcesses, MemberCluster, memberNames, MembershipWatch, QuorumWatch, waitVoting } from "./member-cluster";

jest.setTimeout(150_000);

const WAIT_MS = 60_000;

let cluster: MemberCluster;
let three: { pods: StatefulSetPods; members: MemberPods };
let five: { pods: StatefulSetPods; members: MemberPods };

beforeAll(async () => {
    cluster = await MemberCluster.create();
    three = cluster.at(3);
    five = cluster.at(5);
    await three.members.firstDeploy(cluster.plan, WAIT_MS);
    await waitVoting(three.members, memberNames(3), WAIT_MS);
    for (let i = 0; i < 30; i++) await three.members.client(0).put(`/scaling/${i}`, `v${i}`);
});

afterAll(async () => {
    await cluster?.close();
});

describe("replicas 3 -> 5 -> 3", () => {
    let stayed: ReturnType<typeof etcdProcesses>;

    test("3 -> 5: the two new pods join one learner at a time, each promoted once in sync; the others keep running", async () => {
        stayed = etcdProcesses(three.pods, [0, 1, 2]);
        const watch = new MembershipWatch(five.members);
        const started = Date.now();
        await Promise.all([five.pods.startPod(3), five.pods.startPod(4)]);
        await waitVoting(five.members, memberNames(5), WAIT_MS);
        console.log(`3 -> 5: ${Date.now() - started} ms`);
        expect(await watch.stop()).toEqual([]);
        // At most one learner at a time, and each new member was a learner before it voted.
        for (const name of ["apisix-etcd-3", "apisix-etcd-4"]) {
            expect(cluster.stepLog(name)).toMatch(/added as learner \d+/);
            expect(watch.seen.some((list) => list.some((m) => m.isLearner && (m.name === name || m.name === "")))).toBe(true);
        }
        expect(etcdProcesses(five.pods, [0, 1, 2])).toEqual(stayed);
        await waitFor("member 4 holds every key", async () => (await five.members.client(4).getPrefix("/scaling/")).size === 30, { timeoutMs: WAIT_MS });
    });

    test("5 -> 3: the scale-down Job removes 4 and 3 from the cluster while their pods still run; quorum holds throughout", async () => {
        const quorum = new QuorumWatch(three.members);
        const started = Date.now();
        const job = await cluster.scaleDown(WAIT_MS);
        expect(job.succeeded).toBe(true);
        expect(job.log).toMatch(/removed member apisix-etcd-4 \(\d+\): ordinal 4 is beyond replicas 3\n.*removed member apisix-etcd-3/s);
        // The removal came first: both pods were still there when it happened.
        expect(five.pods.pod(3).running && five.pods.pod(4).running).toBe(true);
        // Then the StatefulSet controller deletes pods 4 and 3.
        await Promise.all([five.pods.deletePod(4), five.pods.deletePod(3)]);
        await waitVoting(three.members, memberNames(3), WAIT_MS);
        console.log(`5 -> 3: ${Date.now() - started} ms`);
        expect(await quorum.stop()).toBe(0);
        expect(etcdProcesses(three.pods, [0, 1, 2])).toEqual(stayed);
        for (const copy of await Promise.all([0, 1, 2].map((o) => three.members.client(o).getPrefix("/scaling/")))) expect(copy.size).toBe(30);
    });

    test("the Job again with nothing in excess changes nothing", async () => {
        const job = await cluster.scaleDown(WAIT_MS);
        expect(job.succeeded).toBe(true);
        expect(job.log).toMatch(/done: 0 member\(s\) removed/);
    });

    test("3 -> 5 again onto the claims the scale-down kept: the removed members' data is set aside, they join afresh", async () => {
        await Promise.all([five.pods.startPod(3), five.pods.startPod(4)]);
        await waitVoting(five.members, memberNames(5), WAIT_MS);
        for (const name of ["apisix-etcd-3", "apisix-etcd-4"]) {
            expect(cluster.stepLog(name)).toMatch(/moved \/var\/lib\/etcd\/data\/member aside to .*: the cluster no longer lists apisix-etcd-\d \(it was removed\)/);
        }
    });
});
