// No second cluster, ever, run as the rendered prod pods in the pod sandbox: once the cluster was founded
// (the ConfigMap apisix-etcd-founded exists), a member with an empty data dir that finds no member
// answering waits, saying why, and founds nothing; once the others are back it joins their cluster.
import { waitFor } from "../etcd/wait";
import { MemberCluster, memberNames, waitVoting } from "./member-cluster";

jest.setTimeout(120_000);

const WAIT_MS = 45_000;
const NAMES = memberNames(3);

let cluster: MemberCluster;
let three: ReturnType<MemberCluster["at"]>;

beforeAll(async () => {
    cluster = await MemberCluster.create();
    three = cluster.at(3);
    await three.members.firstDeploy(cluster.plan, WAIT_MS);
    await waitVoting(three.members, NAMES, WAIT_MS);
    for (let i = 0; i < 30; i++) await three.members.client(0).put(`/founded/${i}`, `v${i}`);
});

afterAll(async () => {
    await cluster?.close();
});

test("a member with an empty data dir that finds no cluster after it was founded waits, saying why, and founds nothing", async () => {
    await three.pods.stopAll();
    cluster.sandbox.deleteClaim(three.pods.claimName(0));
    await three.pods.startPod(0);
    const waiting = /the cluster was founded \(ConfigMap apisix-etcd-founded\) but no member answers .*: not founding another one/;
    await waitFor("apisix-etcd-0 saying why it waits", async () => waiting.test(cluster.stepLog("apisix-etcd-0")) || undefined, { timeoutMs: WAIT_MS });
    // Still in its member-join step, so etcd never started on the empty data dir.
    const statuses = three.pods.pod(0).containerStatuses();
    expect(statuses.find((c) => c.name === "member-join")!).toMatchObject({ running: true, exits: [] });
    expect(statuses.find((c) => c.name === "etcd")!).toMatchObject({ running: false, exits: [] });
    expect(cluster.stepLog("apisix-etcd-0").match(/founding a new cluster/g)).toHaveLength(1); // the first deploy's only
});

test("once the others are back it joins their cluster as a learner instead", async () => {
    await Promise.all([1, 2].map((ordinal) => three.pods.startPod(ordinal)));
    await waitVoting(three.members, NAMES, WAIT_MS);
    expect(cluster.stepLog("apisix-etcd-0")).toMatch(/removed the old registration \d+ of apisix-etcd-0: its data is gone/);
    for (const copy of await Promise.all([0, 1, 2].map((o) => three.members.client(o).getPrefix("/founded/")))) expect(copy.size).toBe(30);
});
