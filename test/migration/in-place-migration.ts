// The in-place migration of docs/migration.md in the pod sandbox, step by step, for the migration test and
// `npm run bench`: today's member as Bitnami's StatefulSet runs it (bitnami-statefulset.ts) on the claim
// `data-apisix-etcd-0`, filled with APISIX-shaped data with history; a writer and an APISIX-style watch on
// /apisix through the client Service; the stack's StatefulSet (prod with `migration.fromBitnami: true`,
// rendered by the program under mocks) starts members 1 and 2, which wait; the Bitnami pod is deleted and
// the stack's member 0 starts on the same claim, on Bitnami's data dir, then 1 and 2 join. The rollback:
// the stack shrunk to `replicas: 1` (its scale-down Job), its pods gone, the Bitnami pod again on the claim.
import { findManifest } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";
import { EtcdClient } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";
import { apisixEntries, type ApisixDataShape } from "../backup/apisix-data";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";
import { ApisixWatch, type WatchEvent } from "./apisix-watch";
import { bitnamiStatefulSet } from "./bitnami-statefulset";
import { SteadyWriter } from "./steady-writer";

const MIGRATION = { "apisix-etcd:migration": { fromBitnami: true } };
/** The client Service APISIX uses (prod keeps clients on http for now). */
export const SERVICE_URL = "http://apisix-etcd.etcd.svc.cluster.local:2379";
export const APISIX_PREFIX = "/apisix/";
const TXN_OPS = 128;

/** What a member says of itself: its ID, its cluster's and its revision (the status response's header). */
export interface MemberIdentity {
    memberId: string;
    clusterId: string;
    revision: number;
}

/** Times of the takeover, in ms from the Bitnami pod's deletion. */
export interface TakeoverTimes {
    /** Until its etcd ended (a graceful stop waits for open watch streams, up to etcd's request timeout). */
    bitnamiGoneMs: number;
    memberZeroReadyMs: number;
    threeVotingMs: number;
}

/** The writer's and the watch's view of the migration. */
export interface LoadOutcome {
    /** The longest time without an acknowledged write. */
    writeGapMs: number;
    acknowledgedWrites: number;
    failedWrites: number;
    /** Acknowledged writes that the watch never told (must be 0). */
    acknowledgedWritesNotWatched: number;
    /** The revision each resumed watch started from. */
    watchResumes: number[];
    /** Compact revisions of watches etcd canceled (a full reload for APISIX; must be empty). */
    watchCompactions: number[];
    /** Events of the history that the watch was not told, told twice, or told but not in the history (all 0). */
    eventsMissed: number;
    eventsTwice: number;
    eventsNotInHistory: number;
    watchedEvents: number;
}

const eventKey = (event: WatchEvent): string => `${event.modRevision} ${event.type} ${event.key} ${event.value}`;

export class InPlaceMigration {
    readonly bitnami: StatefulSetPods;
    readonly stack: StatefulSetPods;
    /** The stack's members, one client per pod DNS name (also Bitnami's member, which has the name of member 0). */
    readonly members: MemberPods;
    writer: SteadyWriter | undefined;
    watch: ApisixWatch | undefined;

    private constructor(
        readonly sandbox: PodSandbox,
        /** prod with `migration.fromBitnami: true`, and the same at `replicas: 1` (the rollback's shrink). */
        readonly declared: { migration: DeclaredStack; single: DeclaredStack },
    ) {
        this.bitnami = sandbox.statefulSet(bitnamiStatefulSet());
        this.stack = sandbox.statefulSet(findManifest(declared.migration.manifests, "StatefulSet", "apisix-etcd"));
        this.members = new MemberPods(sandbox, this.stack);
    }

    /**
     * The stack declared for the migration, and a sandbox for its manifests with the Secrets it would
     * generate and its ConfigMaps as `pulumi up` has them when the members start: those it creates only
     * after the StatefulSet are withheld (with the migration there are none: the founded marker exists).
     */
    static async create(): Promise<InPlaceMigration> {
        const stacks = await declareStacks([
            { stackFile: "Pulumi.prod.yaml", changes: MIGRATION },
            { stackFile: "Pulumi.prod.yaml", changes: { ...MIGRATION, "apisix-etcd:replicas": 1 } },
        ]);
        for (const stack of stacks) if (stack.error) throw new Error(`the migration stack does not declare: ${stack.error}`);
        const [migration, single] = stacks;
        const sandbox = await PodSandbox.create({ manifests: migration.manifests, secrets: stackSecrets(migration).secrets });
        for (const name of configMapsAfterMembers(migration)) sandbox.configMaps.delete(name);
        return new InPlaceMigration(sandbox, { migration, single });
    }

    /** Bitnami's pod on the claim, Ready. */
    async startBitnami(timeoutMs: number): Promise<void> {
        await this.bitnami.startPod(0);
        await this.sandbox.waitReady([this.bitnami.podName(0)], timeoutMs);
        await this.sandbox.endpointsSynced();
    }

    /** APISIX-shaped data with history written through member 0: the entries, then updates of some routes and deletes of some upstreams. */
    async fillApisixData(shape: ApisixDataShape): Promise<void> {
        const entries = [...apisixEntries(shape)];
        const url = this.members.clientUrl(0);
        await this.transactions(url, entries.map(([key, value]) => ({ request_put: { key: b64(key), value: b64(value) } })));
        const routes = entries.filter(([key]) => key.startsWith("/apisix/routes/")).slice(0, Math.ceil(shape.routes / 8));
        await this.transactions(url, routes.map(([key, value]) => ({ request_put: { key: b64(key), value: b64(value.replace('"status":1', '"status":0')) } })));
        const upstreams = entries.filter(([key]) => key.startsWith("/apisix/upstreams/")).slice(0, Math.ceil(shape.upstreams / 15));
        await this.transactions(url, upstreams.map(([key]) => ({ request_delete_range: { key: b64(key) } })));
    }

    /** The writer and the watch, both through the client Service, as APISIX's Admin API and gateway use it. */
    async startLoad(timeoutMs: number): Promise<void> {
        this.watch = new ApisixWatch(this.sandbox.dial, SERVICE_URL, APISIX_PREFIX);
        await waitFor("the watch on /apisix created", async () => this.watch!.created, { timeoutMs });
        this.writer = new SteadyWriter(this.sandbox.etcdClient(SERVICE_URL, { timeoutMs: 1000 }), `${APISIX_PREFIX}routes/migration-writer`);
        await waitFor("the writer's first write seen by the watch", async () => this.writer!.acks.length > 0 && this.watch!.lastRevision >= this.writer!.acks[0].revision, { timeoutMs });
    }

    /** ID, cluster ID and revision of the member serving `url`. */
    async identity(url: string): Promise<MemberIdentity> {
        const { status, body } = await this.sandbox.http(`${url}/v3/maintenance/status`, { method: "POST", body: "{}", timeoutMs: 5000 });
        if (status !== 200) throw new Error(`status of ${url}: HTTP ${status}: ${body}`);
        const header = (JSON.parse(body) as { header: { member_id: string; cluster_id: string; revision: string } }).header;
        return { memberId: header.member_id, clusterId: header.cluster_id, revision: Number(header.revision) };
    }

    /**
     * The takeover: the stack's pods 1 and 2 start while Bitnami's member serves (they wait for its peer
     * URL to be https), the Bitnami pod is deleted, the stack's pod 0 starts on its claim; done once the
     * three members vote. Times in ms from the Bitnami pod's deletion.
     */
    async takeOver(timeoutMs: number): Promise<TakeoverTimes> {
        await Promise.all([this.stack.startPod(1), this.stack.startPod(2)]);
        await waitFor(
            "members 1 and 2 waiting for member 0's https peer URL",
            async () => [1, 2].every((ordinal) => this.stack.pod(ordinal).logs("member-join").includes("does not advertise a https peer URL yet")),
            { timeoutMs },
        );
        const deleted = Date.now();
        await this.bitnami.deletePod(0);
        const bitnamiGoneMs = Date.now() - deleted;
        await this.stack.startPod(0);
        await this.sandbox.waitReady([this.stack.podName(0)], timeoutMs);
        const memberZeroReadyMs = Date.now() - deleted;
        await this.members.waitHealthy(timeoutMs);
        return { bitnamiGoneMs, memberZeroReadyMs, threeVotingMs: Date.now() - deleted };
    }

    /**
     * Ends the load and judges the watch: the writer stops once the new cluster acknowledged a few writes;
     * then a second watch replays the history from the first revision the watch saw, which must be exactly
     * what the watch was told (nothing missed, nothing twice), and every acknowledged write must be in it.
     */
    async endLoad(timeoutMs: number): Promise<LoadOutcome> {
        const writer = this.writer!;
        const watch = this.watch!;
        const acksBefore = writer.acks.length;
        await waitFor("writes acknowledged by the new cluster", async () => writer.acks.length > acksBefore + 5, { timeoutMs });
        await writer.stop();
        const lastAck = writer.acks[writer.acks.length - 1].revision;
        await waitFor("the watch seeing the last write", async () => watch.lastRevision >= lastAck, { timeoutMs });
        await watch.stop();
        const seen = watch.events.map((e) => e.modRevision);
        const replay = new ApisixWatch(this.sandbox.dial, SERVICE_URL, APISIX_PREFIX, seen[0]);
        try {
            await waitFor("the replay reaching the watch's last revision", async () => replay.lastRevision >= watch.lastRevision, { timeoutMs });
        } finally {
            await replay.stop();
        }
        const told = new Set(watch.events.map(eventKey));
        const history = replay.events.filter((e) => e.modRevision <= watch.lastRevision).map(eventKey);
        const acked = new Set(seen);
        return {
            writeGapMs: writer.longestGap().gapMs,
            acknowledgedWrites: writer.acks.length,
            failedWrites: writer.failures.length,
            acknowledgedWritesNotWatched: writer.acks.filter((ack) => !acked.has(ack.revision)).length,
            watchResumes: watch.starts.slice(1).map((start) => start.fromRevision ?? 0),
            watchCompactions: watch.compactions,
            eventsMissed: history.filter((event) => !told.has(event)).length,
            eventsTwice: watch.events.length - told.size,
            eventsNotInHistory: [...told].filter((event) => !history.includes(event)).length,
            watchedEvents: watch.events.length,
        };
    }

    /**
     * The rollback after a completed takeover, up to the Bitnami StatefulSet applied again (startBitnami):
     * `replicas: 1` (the scale-down Job removes members 2 and 1 before their pods go), then the stack's
     * StatefulSet deleted. Returns the Job's log.
     */
    async removeStack(timeoutMs: number): Promise<string> {
        const run = await this.sandbox.runJob(findManifest(this.declared.single.manifests, "Job", "apisix-etcd-scale-down"), timeoutMs);
        const log = run.pods.map((pod) => pod.logs("scale-down")).join("");
        if (!run.succeeded) throw new Error(`the scale-down Job to replicas 1 failed:\n${log}`);
        await Promise.all([this.stack.deletePod(2), this.stack.deletePod(1)]);
        await this.stack.deletePod(0);
        return log;
    }

    /** The client of the member serving the pod DNS name of ordinal 0 (Bitnami's or the stack's member 0). */
    get memberZero(): EtcdClient {
        return this.members.client(0);
    }

    async close(): Promise<void> {
        try {
            await this.watch?.stop();
            await this.writer?.stop();
        } finally {
            await this.sandbox.close();
        }
    }

    private async transactions(url: string, operations: readonly object[]): Promise<void> {
        for (let i = 0; i < operations.length; i += TXN_OPS) {
            const { status, body } = await this.sandbox.http(`${url}/v3/kv/txn`, { method: "POST", body: JSON.stringify({ success: operations.slice(i, i + TXN_OPS) }), timeoutMs: 10_000 });
            if (status !== 200 || JSON.parse(body).succeeded !== true) throw new Error(`txn at ${url}: HTTP ${status}: ${body.slice(0, 300)}`);
        }
    }
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");

/** The ConfigMaps the plan creates only once the StatefulSet is ready (they depend on it). */
export function configMapsAfterMembers(stack: DeclaredStack): string[] {
    const statefulSet = stack.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet");
    if (!statefulSet) throw new Error("the stack declares no StatefulSet");
    return stack.resources
        .filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.options.dependsOn ?? []).includes(statefulSet.urn))
        .map((r) => (r.inputs.metadata as { name: string }).name);
}
