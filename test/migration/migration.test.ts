// docs/migration.md on real etcd 3.5: today's single Bitnami member (configured as the chart
// configures it, its data dir standing for /bitnami/etcd/data) holding APISIX-shaped data, with an
// APISIX-style watch on /apisix running; a snapshot taken with etcdctl as the runbook says; the
// prod stack rendered with `restore.from` pointing at that snapshot in the bucket; the new 3-member
// cluster restored by the RENDERED restore init containers (test/backup's helpers) and started as
// rendered. Then: every key and value equal, 3 voting members, the revision bumped past the old
// member's, and the watcher, resumed from the last revision it saw, told "compacted", re-listing,
// and seeing exactly the migrated state (how APISIX resynchronises).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findManifest, renderedPlan } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";
import { etcdBinaries, type EtcdBinaries } from "../etcd/binaries";
import { EtcdClient, prefixRangeEnd } from "../etcd/etcd-client";
import { LocalCluster } from "../etcd/local-cluster";
import { manifestConfigMaps, membersFromStatefulSet, type RenderedMemberSpec } from "../etcd/rendered-members";
import { makeMemberSecrets } from "../etcd/stack-secrets";
import { waitFor } from "../etcd/wait";
import { apisixEntries, putAll } from "../backup/apisix-data";
import { installFakeGcloud, objectPath } from "../backup/fake-gcloud";
import { memberRestoreSteps } from "../backup/member-restore-steps";
import { runSteps } from "../backup/pod-steps";

jest.setTimeout(60_000);

/** Not used by any other test file (.21-.23 harness, .31-.33 manifest, .41-.53 backup). */
const OLD_IP = "127.0.0.81";
const NEW_IPS = ["127.0.0.91", "127.0.0.92", "127.0.0.93"];
const WAIT_MS = 15_000;
const SHAPE = { routes: 1500, upstreams: 300, services: 100 };

interface WatchEvent {
    type: "PUT" | "DELETE";
    key: string;
    value: string;
    modRevision: number;
}

/**
 * A watch on /apisix/ as APISIX keeps one: through the JSON gateway's /v3/watch (a stream of JSON
 * objects), resuming from a revision; records what it is told.
 */
class PrefixWatcher {
    readonly events: WatchEvent[] = [];
    created = false;
    compactRevision = 0;
    canceled = false;
    /** The newest revision the watcher has seen (events or progress headers). */
    lastRevision = 0;
    /** Set when the stream ended with an error (its member went away). */
    lostConnection: string | undefined;
    private readonly abort = new AbortController();
    private readonly done: Promise<void>;

    constructor(endpoint: string, prefix: string, startRevision?: number) {
        const request = {
            create_request: {
                key: Buffer.from(prefix).toString("base64"),
                range_end: prefixRangeEnd(prefix).toString("base64"),
                ...(startRevision === undefined ? {} : { start_revision: String(startRevision) }),
            },
        };
        this.done = this.run(endpoint, request).catch((error) => {
            if (!this.abort.signal.aborted) throw error;
        });
    }

    private async run(endpoint: string, request: unknown): Promise<void> {
        const response = await fetch(`${endpoint}/v3/watch`, { method: "POST", body: JSON.stringify(request), signal: this.abort.signal });
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let buffered = "";
        for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            buffered += decoder.decode(value, { stream: true });
            let newline: number;
            while ((newline = buffered.indexOf("\n")) >= 0) {
                const line = buffered.slice(0, newline).trim();
                buffered = buffered.slice(newline + 1);
                if (line) this.take(JSON.parse(line));
            }
        }
    }

    private take(message: { result?: any; error?: unknown }): void {
        // The stream ends with an error when its member goes away (the old member stopped): APISIX then
        // reconnects and resumes from the revision after the last one it saw.
        if (message.error) {
            this.lostConnection = JSON.stringify(message.error);
            return;
        }
        const result = message.result ?? {};
        if (result.created) this.created = true;
        if (result.canceled) this.canceled = true;
        if (result.compact_revision) this.compactRevision = Number(result.compact_revision);
        for (const event of result.events ?? []) {
            const modRevision = Number(event.kv.mod_revision);
            this.events.push({
                type: event.type === "DELETE" ? "DELETE" : "PUT",
                key: Buffer.from(event.kv.key, "base64").toString("utf8"),
                value: Buffer.from(event.kv.value ?? "", "base64").toString("utf8"),
                modRevision,
            });
            this.lastRevision = Math.max(this.lastRevision, modRevision);
        }
    }

    async stop(): Promise<void> {
        this.abort.abort();
        await this.done;
    }
}

/** `etcdctl <args>` against an endpoint, as the runbook runs it inside the old pod; stdout. */
function etcdctl(bins: EtcdBinaries, endpoint: string, ...args: string[]): string {
    const run = spawnSync(bins.etcdctl, [`--endpoints=${endpoint}`, ...args], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH, ETCDCTL_API: "3" } });
    if (run.status !== 0) throw new Error(`etcdctl ${args.join(" ")} exited ${run.status}: ${run.stderr}`);
    return run.stdout;
}

describe("migration from the single Bitnami member to the stack's 3-member cluster (docs/migration.md)", () => {
    let work: string;
    let bins: EtcdBinaries;
    let old: LocalCluster;
    let restored: LocalCluster;
    let restoredMembers: RenderedMemberSpec[];
    let watcher: PrefixWatcher;
    let oldData: Map<string, string>;
    let oldRevision: number;
    let bump: number;
    const clusters: LocalCluster[] = [];
    const watchers: PrefixWatcher[] = [];
    const figures: Record<string, number> = {};

    beforeAll(async () => {
        const started = Date.now();
        bins = await etcdBinaries();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-migration-"));
        const fakeBin = path.join(work, "bin");
        const buckets = path.join(work, "gcs");
        installFakeGcloud(fakeBin, buckets);

        // The prod stack's backup bucket; the runbook uploads the migration snapshot there.
        const { manifests, plan } = renderedPlan("prod");
        const cronJob = findManifest(manifests, "CronJob", "apisix-etcd-backup");
        const bucket = cronJob.spec.jobTemplate.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "BUCKET").value as string;
        const snapshotUrl = `gs://${bucket}/etcd/migration/apisix-etcd-0-bitnami.db`;
        // The stack as the runbook declares it (`pulumi config set --path restore.from <url>`), in its own process meanwhile.
        const restoreStack: Promise<DeclaredStack[]> = declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:restore": { from: snapshotUrl } } }]);

        // Today's member, configured as the Bitnami chart configures it (ETCD_* variables, one member, its own token).
        const bitnamiDataDir = path.join(work, "old", "bitnami", "etcd", "data");
        fs.mkdirSync(path.dirname(bitnamiDataDir), { recursive: true });
        old = new LocalCluster({
            members: [
                {
                    name: "apisix-etcd-0",
                    ip: OLD_IP,
                    args: [],
                    dataDir: bitnamiDataDir,
                    env: {
                        ETCD_NAME: "apisix-etcd-0",
                        ETCD_DATA_DIR: bitnamiDataDir,
                        ETCD_LISTEN_CLIENT_URLS: `http://${OLD_IP}:2379`,
                        ETCD_ADVERTISE_CLIENT_URLS: `http://${OLD_IP}:2379`,
                        ETCD_LISTEN_PEER_URLS: `http://${OLD_IP}:2380`,
                        ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${OLD_IP}:2380`,
                        ETCD_INITIAL_CLUSTER: `apisix-etcd-0=http://${OLD_IP}:2380`,
                        ETCD_INITIAL_CLUSTER_STATE: "new",
                        ETCD_INITIAL_CLUSTER_TOKEN: "etcd-cluster-k8s",
                        ETCD_AUTO_COMPACTION_MODE: "periodic",
                        ETCD_AUTO_COMPACTION_RETENTION: "0",
                    },
                },
            ],
            workDir: path.join(work, "old-logs"),
            etcdBinary: bins.etcd,
        });
        clusters.push(old);
        await old.start();
        await old.waitHealthy(WAIT_MS);
        const oldUrl = `http://${OLD_IP}:2379`;
        const oldClient = old.client("apisix-etcd-0");

        // APISIX-shaped data with history (written, some routes updated, some upstreams deleted).
        const entries = apisixEntries(SHAPE);
        await putAll(oldUrl, entries);
        await putAll(oldUrl, new Map([...entries].filter(([key]) => key.startsWith("/apisix/routes/")).slice(0, 200).map(([key, value]) => [key, value.replace('"status":1', '"status":0')])));
        for (const key of [...entries.keys()].filter((k) => k.startsWith("/apisix/upstreams/")).slice(0, 20)) await oldClient.deletePrefix(key);

        // APISIX's watch, live on the old member; it sees the last change made before writes are frozen.
        watcher = new PrefixWatcher(oldUrl, "/apisix/");
        watchers.push(watcher);
        await waitFor("the watch on the old member created", async () => watcher.created, { timeoutMs: WAIT_MS });
        const frozenAt = await oldClient.put("/apisix/data_plane/marker", "last-write-before-freeze");
        await waitFor("the watcher seeing the last write", async () => watcher.lastRevision === frozenAt, { timeoutMs: WAIT_MS });
        oldData = await oldClient.getPrefix("/apisix/");
        expect(oldData.size).toBe(SHAPE.routes + SHAPE.upstreams + SHAPE.services - 20 + 1);

        // Runbook step: pre-checks, then `etcdctl snapshot save` in the old pod, copied out, uploaded to the bucket.
        oldRevision = JSON.parse(etcdctl(bins, oldUrl, "endpoint", "status", "-w", "json"))[0].Status.header.revision;
        expect(oldRevision).toBe(frozenAt);
        expect(Number(etcdctl(bins, oldUrl, "get", "/apisix", "--prefix", "--count-only", "-w", "fields").match(/"Count" : (\d+)/)![1])).toBe(oldData.size);
        const saved = path.join(work, "old", "tmp", "apisix-etcd-0-bitnami.db");
        fs.mkdirSync(path.dirname(saved), { recursive: true });
        let t = Date.now();
        etcdctl(bins, oldUrl, "snapshot", "save", saved);
        figures.snapshotSaveMs = Date.now() - t;
        figures.snapshotBytes = fs.statSync(saved).size;
        const object = objectPath(buckets, snapshotUrl);
        fs.mkdirSync(path.dirname(object), { recursive: true });
        fs.copyFileSync(saved, object);

        // The old member is stopped (StatefulSet deleted); the new one restores from the bucket with the rendered init containers.
        await old.stopAll();
        const [stack] = await restoreStack;
        expect(stack.error).toBeUndefined();
        const statefulSet = stack.manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "apisix-etcd")!;
        const restoreArgs: string[] = statefulSet.spec.template.spec.initContainers[1].args;
        bump = Number(restoreArgs[restoreArgs.indexOf("--bump-revision") + 1]);
        const dataRoot = path.join(work, "new");
        t = Date.now();
        const steps = memberRestoreSteps(statefulSet, { ips: NEW_IPS, dataRoot, scratchRoot: `${dataRoot}-scratch`, binaries: { etcdutl: bins.etcdutl, bash: "/bin/bash" } });
        for (const memberSteps of steps) {
            const results = runSteps(memberSteps, { path: [fakeBin] });
            if (results.length !== memberSteps.length || !results.every((r) => r.status === 0)) {
                throw new Error(results.map((r) => `${r.name} exited ${r.status}: ${r.stderr.slice(-1500)}`).join("\n"));
            }
        }
        figures.restoreStepsMs = Date.now() - t;
        const { secrets } = makeMemberSecrets(path.join(work, "secrets"), { manifests, resources: plan.resources }, NEW_IPS);
        restoredMembers = membersFromStatefulSet(statefulSet, { ips: NEW_IPS, dataRoot, binDir: bins.binDir, secrets, configMaps: manifestConfigMaps(stack.manifests) });
        restored = new LocalCluster({ members: restoredMembers, workDir: path.join(work, "new-logs"), etcdBinary: restoredMembers[0].binary });
        clusters.push(restored);
        t = Date.now();
        // Members on existing data dirs each run the initial corruption check (LocalCluster.startInTurn).
        await restored.startInTurn(WAIT_MS);
        await restored.waitHealthy(WAIT_MS);
        figures.newClusterUpMs = Date.now() - t;
        figures.beforeAllMs = Date.now() - started;
    });

    afterAll(async () => {
        for (const w of watchers) await w.stop().catch(() => undefined);
        for (const cluster of clusters) await cluster.stopAll();
        if (work) fs.rmSync(work, { recursive: true, force: true });
        // eslint-disable-next-line no-console
        console.log(`migration figures: ${JSON.stringify(figures)}`);
    });

    test("every key and value under /apisix is equal on every new member, and the count matches the pre-check", async () => {
        for (const member of restoredMembers) {
            const data = await new EtcdClient(`http://${member.ip}:2379`).getPrefix("/apisix/");
            expect(data.size).toBe(oldData.size);
            expect(data).toEqual(oldData);
        }
        const count = etcdctl(bins, `http://${NEW_IPS[0]}:2379`, "get", "/apisix", "--prefix", "--count-only", "-w", "fields");
        expect(Number(count.match(/"Count" : (\d+)/)![1])).toBe(oldData.size);
        // The verification of the runbook: the same keys and values hash the same on every member.
        const hashes = JSON.parse(etcdctl(bins, NEW_IPS.map((ip) => `http://${ip}:2379`).join(","), "endpoint", "hashkv", "-w", "json"));
        expect(new Set(hashes.map((h: { HashKV: { hash: number } }) => h.HashKV.hash)).size).toBe(1);
    });

    test("the new cluster has 3 voting members, healthy, none of them the old member", async () => {
        const members = await restored.client(restoredMembers[0].name).memberList();
        expect(members.map((m) => [m.name, m.isLearner]).sort()).toEqual([
            ["apisix-etcd-0", false],
            ["apisix-etcd-1", false],
            ["apisix-etcd-2", false],
        ]);
        expect(members.every((m) => m.peerURLs.every((u) => !u.includes(OLD_IP)))).toBe(true);
        const health = etcdctl(bins, `http://${NEW_IPS[1]}:2379`, "endpoint", "health", "--cluster", "-w", "json");
        expect((JSON.parse(health) as { health: boolean }[]).map((h) => h.health)).toEqual([true, true, true]);
    });

    test("the revision is bumped past the old member's", async () => {
        const revision = await restored.client(restoredMembers[1].name).put("/apisix/data_plane/marker-probe", "x");
        expect(revision).toBeGreaterThan(oldRevision + bump);
        await restored.client(restoredMembers[1].name).deletePrefix("/apisix/data_plane/marker-probe");
    });

    test("a watcher resumed from its last revision is told 'compacted', re-lists, and then sees exactly the migrated state and later changes", async () => {
        // The watch on the old member ended when it stopped, having seen every write up to the freeze.
        expect(watcher.lostConnection).toMatch(/EOF|unavailable|connection/i);
        expect(watcher.lastRevision).toBe(oldRevision);
        await watcher.stop();
        const endpoint = `http://${NEW_IPS[2]}:2379`;
        const resumed = new PrefixWatcher(endpoint, "/apisix/", watcher.lastRevision + 1);
        watchers.push(resumed);
        await waitFor("the resumed watch answered", async () => resumed.canceled || resumed.events.length > 0, { timeoutMs: WAIT_MS });
        // Refused rather than silently waiting for revisions that never come: nothing delivered, told to start over.
        expect(resumed.events).toEqual([]);
        expect(resumed.canceled).toBe(true);
        expect(resumed.compactRevision).toBeGreaterThan(oldRevision);
        await resumed.stop();

        // APISIX's resync: a full read of /apisix, then a watch from just after that read's revision.
        const listing = await fetch(`${endpoint}/v3/kv/range`, {
            method: "POST",
            body: JSON.stringify({ key: Buffer.from("/apisix/").toString("base64"), range_end: prefixRangeEnd("/apisix/").toString("base64") }),
        });
        const body = (await listing.json()) as { header: { revision: string }; kvs?: { key: string; value: string }[] };
        const relisted = new Map((body.kvs ?? []).map((kv) => [Buffer.from(kv.key, "base64").toString("utf8"), Buffer.from(kv.value ?? "", "base64").toString("utf8")]));
        expect(relisted).toEqual(oldData);
        const listRevision = Number(body.header.revision);
        expect(listRevision).toBeGreaterThan(oldRevision + bump);

        const rewatch = new PrefixWatcher(endpoint, "/apisix/", listRevision + 1);
        watchers.push(rewatch);
        await waitFor("the new watch created", async () => rewatch.created, { timeoutMs: WAIT_MS });
        const written = await restored.client(restoredMembers[0].name).put("/apisix/routes/added-after-migration", '{"uri":"/new"}');
        await waitFor("the new watch seeing the first write after the migration", async () => rewatch.lastRevision >= written, { timeoutMs: WAIT_MS });
        expect(rewatch.canceled).toBe(false);
        expect(rewatch.events).toEqual([{ type: "PUT", key: "/apisix/routes/added-after-migration", value: '{"uri":"/new"}', modRevision: written }]);
        await rewatch.stop();
    });
});
