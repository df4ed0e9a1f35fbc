// The dev stack (Pulumi.dev.yaml: one member, https clients) as its rendered pods run in the pod sandbox:
// a first deploy founds a cluster of one voting member; pods 1 and 2 join it one learner at a time
// (as `replicas: 3` would start them); then `replicas: 1` again, which runs the dev stack's rendered
// scale-down Job first: it removes members 2 and 1 while their pods still run, quorum held throughout.
// Before the growth, a learner registered by hand for a pod that does not exist: the membership container's
// next line counts it, as the stack's log-based metric (its rendered filter and label extractors) reads it.
import type { MemberPods } from "../pod-sandbox/member-pods";
import { waitFor } from "../etcd/wait";
import type { StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { etcdProcesses, MemberCluster, memberNames, memberPeerUrl, MembershipWatch, QuorumWatch, stepTails, waitVoting } from "./member-cluster";

jest.setTimeout(120_000);

const WAIT_MS = 45_000;

let cluster: MemberCluster;
let one: { pods: StatefulSetPods; members: MemberPods };
let three: { pods: StatefulSetPods; members: MemberPods };
let watch: MembershipWatch;

beforeAll(async () => {
    cluster = await MemberCluster.create({ stackFile: "Pulumi.dev.yaml", stack: "dev" });
    one = cluster.at(1);
    three = cluster.at(3);
    watch = new MembershipWatch(three.members);
});

afterAll(async () => {
    await watch?.stop();
    await cluster?.close();
});

describe("a 1-member dev stack", () => {
    test("is rendered with one replica and a scale-down Job for 1", () => {
        expect(cluster.statefulSetManifest.spec.replicas).toBe(1);
        const job = cluster.manifests.find((m) => m.kind === "Job" && m.metadata.name === "apisix-etcd-scale-down")!;
        expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: "REPLICAS", value: "1" });
    });

    test("its first deploy founds a cluster of one voting member", async () => {
        await one.members.firstDeploy(cluster.plan, WAIT_MS);
        const [member] = await waitVoting(one.members, memberNames(1), WAIT_MS);
        expect(member.clientURLs).toEqual(["https://apisix-etcd-0.apisix-etcd-headless.etcd.svc.cluster.local:2379"]);
        expect(cluster.stepLog("apisix-etcd-0")).toMatch(/founding a new cluster with token apisix-etcd-[0-9a-f]{16}/);
        for (let i = 0; i < 10; i++) await one.members.client(0).put(`/dev/${i}`, `v${i}`);
    });

    test("a member registered but never started shows in the membership line the log-based metric counts", async () => {
        const metric = cluster.plan.resources.find((r) => r.type === "gcp:logging/metric:Metric" && String(r.inputs.name).endsWith("/membership-checks"))!;
        const filter = String(metric.inputs.filter).split("\n");
        const pattern = (field: string) => new RegExp(JSON.parse(filter.find((l) => l.startsWith(`${field}=~`))!.slice(field.length + 2)));
        const extractors = metric.inputs.labelExtractors as Record<string, string>;
        const labelsOf = (line: string) =>
            Object.fromEntries(Object.entries(extractors).map(([label, extractor]) => [label, new RegExp(JSON.parse(/^REGEXP_EXTRACT\(textPayload, (".*")\)$/.exec(extractor)![1])).exec(line)?.[1]]));
        expect(pattern("resource.labels.pod_name").test("apisix-etcd-0")).toBe(true);
        expect(filter).toContain('resource.labels.container_name="membership"');

        const client = cluster.sandbox.etcdClient(one.members.clientUrl(0, "https"), { tls: { ca: cluster.caCert } });
        const id = await client.memberAddLearner(memberPeerUrl("apisix-etcd-1"));
        const counted = await waitFor(
            "apisix-etcd-0's membership line counting the unstarted learner",
            async () => one.pods.pod(0).logs("membership").split("\n").filter((line) => pattern("textPayload").test(line)).map(labelsOf).find((labels) => labels.unstarted === "1"),
            { timeoutMs: 30_000, intervalMs: 500 },
        ).catch((error) => {
            throw new Error(`${(error as Error).message}\n${stepTails(one.members)}`, { cause: error });
        });
        expect(counted).toEqual({ registered: "2", unstarted: "1" });
        expect(one.pods.pod(0).logs("membership")).toMatch(/members: registered=2 voting=1 learners=1 unstarted=1\n/);
        // Removed again, so that pod 1 can join: etcd takes one learner at a time.
        await client.memberRemove(id);
        await waitVoting(one.members, memberNames(1), WAIT_MS);
    });

    test("grown to three: the new pods join one learner at a time and are promoted", async () => {
        await Promise.all([three.pods.startPod(1), three.pods.startPod(2)]);
        await waitVoting(three.members, memberNames(3), WAIT_MS);
        for (const name of memberNames(3).slice(1)) expect(cluster.stepLog(name)).toMatch(/added as learner \d+; initial cluster /);
        for (const copy of await Promise.all([0, 1, 2].map((o) => three.members.client(o).getPrefix("/dev/")))) expect(copy.size).toBe(10);
    });

    test("3 -> 1: the rendered Job removes members 2 and 1 while their pods run, quorum held; member 0 keeps running", async () => {
        const stayed = etcdProcesses(three.pods, [0]);
        const quorum = new QuorumWatch(three.members);
        const job = await cluster.scaleDown(WAIT_MS);
        expect(job.succeeded).toBe(true);
        expect(job.log).toMatch(/removed member apisix-etcd-2 \(\d+\): ordinal 2 is beyond replicas 1\n.*removed member apisix-etcd-1 \(\d+\): ordinal 1/s);
        expect(three.pods.pod(1).running && three.pods.pod(2).running).toBe(true);
        await Promise.all([three.pods.deletePod(2), three.pods.deletePod(1)]);
        await waitVoting(one.members, memberNames(1), WAIT_MS);
        expect(await quorum.stop()).toBe(0);
        expect(etcdProcesses(one.pods, [0])).toEqual(stayed);
        expect((await one.members.client(0).getPrefix("/dev/")).size).toBe(10);
        expect(await watch.stop()).toEqual([]);
    });
});
