/**
 * The membership part of `npm run bench` (`membership`): the rendered prod members as pods in the pod
 * sandbox, managing their own membership. It measures a first deploy of 3 members (until all three vote),
 * a lost volume (claim deleted, pod recreated: until the member votes again under a new ID and holds every
 * key), `replicas` 3 -> 5 (the new pods started: until five vote) and 5 -> 3 (the rendered scale-down Job,
 * then the pods deleted: until three vote). With each, how often etcd restarted in the pods that joined:
 * a joiner's etcd exits while its peers' DNS does not yet answer its new address, and the kubelet's back-off
 * then delays it. etcd takes a member change only after 5 s of connectivity of every voting member: a floor.
 *
 * Every wait is bounded; every process is stopped by pid (PodSandbox.close).
 */
import { MemberCluster, memberNames, waitVoting } from "../membership/member-cluster";
import type { StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { waitFor } from "../etcd/wait";

const WAIT_MS = 120_000;
const now = () => Date.now();

/** etcd restarts of the pods of `ordinals` now running. */
const etcdRestarts = (pods: StatefulSetPods, ordinals: readonly number[]) =>
    ordinals.reduce((sum, ordinal) => sum + pods.pod(ordinal).containerStatuses().find((c) => c.name === "etcd")!.restarts, 0);

export async function membershipBench(options: { lostVolumeRounds?: number; keys?: number } = {}): Promise<object> {
    const rounds = options.lostVolumeRounds ?? 2;
    const keys = options.keys ?? 200;
    const cluster = await MemberCluster.create();
    try {
        const three = cluster.at(3);
        const five = cluster.at(5);
        let started = now();
        await three.members.firstDeploy(cluster.plan, WAIT_MS);
        await waitVoting(three.members, memberNames(3), WAIT_MS);
        const bootstrap = { members: 3, ms: now() - started, etcdRestarts: etcdRestarts(three.pods, [0, 1, 2]) };

        for (let i = 0; i < keys; i++) await three.members.client(0).put(`/bench/membership/${i}`, `value-${i}`);
        const lostVolume = [];
        for (let round = 0; round < rounds; round++) {
            const ordinal = 2 - (round % 2);
            const before = (await three.members.client(0).memberList()).find((m) => m.name === `apisix-etcd-${ordinal}`)!.id;
            started = now();
            await three.pods.killPod(ordinal);
            cluster.sandbox.deleteClaim(three.pods.claimName(ordinal));
            await three.pods.startPod(ordinal);
            // Its old registration still lists it as voting until its member-join step removes it.
            await waitFor(`apisix-etcd-${ordinal} under a new ID`, async () => {
                const id = (await three.members.client(0).memberList()).find((m) => m.name === `apisix-etcd-${ordinal}`)?.id;
                return (id !== undefined && id !== before) || undefined;
            }, { timeoutMs: WAIT_MS, intervalMs: 100 });
            await waitVoting(three.members, memberNames(3), WAIT_MS);
            const votingMs = now() - started;
            await waitFor(`member ${ordinal} holds every key`, async () => (await three.members.client(ordinal).getPrefix("/bench/membership/")).size === keys, { timeoutMs: WAIT_MS, intervalMs: 100 });
            lostVolume.push({ ordinal, toVotingMs: votingMs, toEveryKeyMs: now() - started, etcdRestarts: etcdRestarts(three.pods, [ordinal]) });
        }

        started = now();
        await Promise.all([five.pods.startPod(3), five.pods.startPod(4)]);
        await waitVoting(five.members, memberNames(5), WAIT_MS);
        const grow = { from: 3, to: 5, ms: now() - started, etcdRestarts: etcdRestarts(five.pods, [3, 4]) };

        started = now();
        const job = await cluster.scaleDown(WAIT_MS);
        if (!job.succeeded) throw new Error(`the scale-down Job failed:\n${job.log}`);
        const jobMs = now() - started;
        await Promise.all([five.pods.deletePod(4), five.pods.deletePod(3)]);
        await waitVoting(three.members, memberNames(3), WAIT_MS);
        const shrink = { from: 5, to: 3, ms: now() - started, scaleDownJobMs: jobMs };

        return { bootstrap, lostVolume, grow, shrink, keys };
    } finally {
        await cluster.close();
    }
}
