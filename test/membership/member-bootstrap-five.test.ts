// The prod stack with `replicas: 5`, its rendered pods started together in the pod sandbox (a first
// deploy): ordinal 0 founds the cluster, the four others join it one learner at a time, and each is
// promoted once in sync. One cluster of five voting members; never two learners at once.
import { MemberCluster, memberNames, MembershipWatch, waitVoting } from "./member-cluster";

jest.setTimeout(150_000);

const WAIT_MS = 90_000;
const NAMES = memberNames(5);

let cluster: MemberCluster;

beforeAll(async () => {
    cluster = await MemberCluster.create({ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:replicas": 5 } });
});

afterAll(async () => {
    await cluster?.close();
});

test("a first deploy of five members forms one cluster, every member voting, one learner at a time", async () => {
    expect(cluster.statefulSetManifest.spec.replicas).toBe(5);
    const { members } = cluster.at(5);
    const watch = new MembershipWatch(members);
    const started = Date.now();
    await members.firstDeploy(cluster.plan, WAIT_MS);
    const list = await waitVoting(members, NAMES, WAIT_MS);
    console.log(`bootstrap of 5 members: ${Date.now() - started} ms`);
    expect(await watch.stop()).toEqual([]);
    // One cluster: every member lists the same five IDs.
    const ids = list.map((m) => m.id).sort().join(",");
    const views = await Promise.all(members.ordinals.map(async (o) => (await members.client(o).memberList()).map((m) => m.id).sort().join(",")));
    expect(new Set(views)).toEqual(new Set([ids]));
    expect(cluster.stepLog("apisix-etcd-0")).toMatch(/founding a new cluster/);
    for (const name of NAMES.slice(1)) {
        const log = cluster.stepLog(name);
        expect(log).not.toContain("founding");
        expect(log).toMatch(/added as learner \d+/);
        expect(log).toMatch(/promoted \d+ to a voting member/);
    }
    expect(watch.seen.some((seen) => seen.filter((m) => m.isLearner).length === 1)).toBe(true);
});
