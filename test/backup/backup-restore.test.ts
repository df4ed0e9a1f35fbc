// The backup CronJob and the restore init containers of the rendered prod stack, run for real on
// etcd 3.5 in the pod sandbox (test/pod-sandbox), nothing rewritten: the CronJob's pod exactly as
// rendered (its init containers and container, UID 65532, its emptyDir at /backup) backs up the
// 3-member source cluster, holding APISIX-shaped data, through the client Service
// apisix-etcd.etcd.svc.cluster.local:2379 while one member is down, and uploads to the GCS stand-in
// at storage.googleapis.com (https, the sandbox's CA as the image's CA bundle) with a token from the
// metadata server at metadata.google.internal; the stand-in refuses what GCS refuses the role the
// stack grants (test/backup/gcs-stand-in.ts). The stack rendered with `restore.from` set to that
// backup then runs as a fresh StatefulSet on empty claims: each pod downloads the backup, restores
// it into /var/lib/etcd on its claim and starts its member as rendered.
import * as fs from "fs";
import * as path from "path";
import { renderedPlan } from "../rendered-plan";
import { MemberPods } from "../pod-sandbox/member-pods";
import type { StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import type { SandboxPod } from "../pod-sandbox/sandbox-pod";
import { waitFor } from "../etcd/wait";
import { apisixEntries, putAll } from "./apisix-data";
import { BackupSandbox, envValue, type RestoreStack } from "./backup-sandbox";
import { listObjects, objectPath } from "./fake-gcs";

jest.setTimeout(120_000);

const WAIT_MS = 30_000;
const DEPLOY_WAIT_MS = 60_000;
const SHAPE = { routes: 3000, upstreams: 500, services: 200 };
const SERVICE_URL = "http://apisix-etcd.etcd.svc.cluster.local:2379";
const DATA_MOUNT = "/var/lib/etcd";

/** Each container's exit codes, init containers first (no exit: it never ran). */
const exitCodes = (pod: SandboxPod) => pod.containerStatuses().map((s) => [s.name, s.exits.map((e) => e.code)]);
const logsOf = (pod: SandboxPod) => pod.containerStatuses().map((s) => `--- ${s.name}:\n${pod.logs(s.name).slice(-2000)}`).join("\n");

describe("backup and restore of the rendered prod stack in the pod sandbox", () => {
    let scene: BackupSandbox;
    let source: MemberPods;
    let down: number;
    let sourceIds: string[];
    let sourceData: Map<string, string>;
    let sourceRevision: number;
    let backupUrl: string;
    let restoreStack: Promise<RestoreStack>;

    const uploadContainer = () => scene.cronJob.spec.jobTemplate.spec.template.spec.containers.find((c: { name: string }) => c.name === "upload");
    const snapshotOf = (pod: SandboxPod) => path.join(pod.volumeDir("backup"), "snapshot.db");

    beforeAll(async () => {
        const { manifests, plan } = renderedPlan("prod");
        scene = await BackupSandbox.create({ manifests, resources: plan.resources });
        expect(scene.uploaderRole).toBe("roles/storage.objectCreator");
        // The members join one at a time, as learners, each promoted once in sync: on a loaded machine that
        // has taken more than 30 s (load average 20).
        source = await scene.deploySource(DEPLOY_WAIT_MS);
        // APISIX-shaped data with some history: everything written, then routes updated, upstreams deleted.
        const post = (url: string, body: string) => scene.sandbox.http(url, { method: "POST", body, timeoutMs: 30_000 });
        const entries = apisixEntries(SHAPE);
        await putAll(source.clientUrl(0), entries, post);
        const updated = new Map([...entries].filter(([key]) => key.startsWith("/apisix/routes/")).slice(0, 500).map(([key, value]) => [key, value.replace('"status":1', '"status":0')]));
        await putAll(source.clientUrl(0), updated, post);
        for (const key of [...entries.keys()].filter((k) => k.startsWith("/apisix/upstreams/")).slice(0, 50)) expect(await source.client(0).deletePrefix(key)).toBe(1);
        sourceIds = (await source.client(0).memberList()).map((m) => m.id);
        const client = source.client(0);
        sourceRevision = await client.put("/apisix/data_plane/marker", "before-backup");
        sourceData = await client.getPrefix("/apisix/");
        expect(sourceData.size).toBe(SHAPE.routes + SHAPE.upstreams + SHAPE.services - 50 + 1);

        // A follower down (right after a leader goes, a snapshot fails with "leader changed"; the Job's retries cover that).
        const leader = await source.waitLeader(WAIT_MS);
        down = source.ordinals.find((o) => o !== leader)!;
        await source.statefulSet.killPod(down);
        await scene.sandbox.endpointsSynced();
    });

    afterAll(async () => {
        await scene?.close();
    });

    test("with one member down, the rendered backup pod snapshots through the client Service, verifies, and uploads named by its time as a create-only identity that waits for its token", async () => {
        const pod = scene.cronJob.spec.jobTemplate.spec.template.spec;
        expect(envValue(pod.initContainers[0], "ETCDCTL_ENDPOINTS")).toBe(SERVICE_URL);
        expect(source.running()).toHaveLength(2);
        scene.gcs.refuseTokenRequests(1);
        const before = new Date();
        const backup = await scene.backupPod(WAIT_MS);
        expect({ phase: backup.phase, exits: exitCodes(backup), logs: backup.phase === "Succeeded" ? "" : logsOf(backup) }).toEqual({
            phase: "Succeeded",
            exits: [["snapshot", [0]], ["verify", [0]], ["upload", [0]]],
            logs: "",
        });
        // Written in the pod's emptyDir by its user (the pod's securityContext, not root).
        expect(fs.statSync(snapshotOf(backup)).uid).toBe(65532);
        expect(fs.statSync(path.join(backup.volumeDir("backup"), "verify", "member", "snap", "db")).uid).toBe(65532);

        const objects = listObjects(scene.buckets);
        expect(objects).toHaveLength(1);
        backupUrl = objects[0];
        const [, year, stamp] = new RegExp(`^gs://${scene.bucket}/etcd/(\\d{4})/apisix-etcd-(\\d{8}T\\d{6}Z)\\.db$`).exec(backupUrl) ?? [];
        expect(stamp).toBeDefined();
        expect(year).toBe(stamp.slice(0, 4));
        const taken = new Date(stamp.replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/, "$1-$2-$3T$4:$5:$6Z"));
        expect(taken.getTime()).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000) * 1000);
        expect(taken.getTime()).toBeLessThanOrEqual(Date.now());
        const stored = fs.readFileSync(objectPath(scene.buckets, backupUrl));
        expect(stored.equals(fs.readFileSync(snapshotOf(backup)))).toBe(true);
        expect(backup.logs("upload")).toContain(`uploaded ${backupUrl} (${stored.length} bytes)`);

        // The stack as it would be declared to restore from this backup (a process of its own; awaited below).
        restoreStack = BackupSandbox.declareRestore(backupUrl);
        restoreStack.catch(() => undefined); // awaited (and its failure reported) by the restore tests
    });

    test("a damaged snapshot (truncated to half, one byte changed, its integrity hash cut short) fails verification, fails the pod and is never uploaded", async () => {
        const damages: Record<string, (file: string) => void> = {
            "truncated to half its size": (file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2)),
            "one byte changed in the middle": (file) => {
                const bytes = fs.readFileSync(file);
                bytes[Math.floor(bytes.length / 2)] ^= 0xff;
                fs.writeFileSync(file, bytes);
            },
            "without its last byte": (file) => fs.truncateSync(file, fs.statSync(file).size - 1),
        };
        // Three Job pods at once (they share nothing but the bucket): each damaged between its snapshot and verify steps.
        const runs = await Promise.all(
            Object.entries(damages).map(async ([how, damage]) => {
                const pod = await scene.backupPod(WAIT_MS, (container, p) => {
                    if (container === "verify") damage(snapshotOf(p));
                });
                return [how, pod.phase, exitCodes(pod).map(([name, codes]) => [name, (codes as number[]).map((code) => code === 0)])];
            }),
        );
        const failedAtVerify = [["snapshot", [true]], ["verify", [false]], ["upload", []]];
        expect(runs).toEqual(Object.keys(damages).map((how) => [how, "Failed", failedAtVerify]));
        expect(listObjects(scene.buckets)).toEqual([backupUrl]);
    });

    test("a backup whose name exists already is refused (412) and fails the pod; the stored object stays as it was", async () => {
        const upload = uploadContainer();
        let taken = "";
        const pod = await scene.backupPod(WAIT_MS, (container, p) => {
            if (container !== "upload") return;
            // The name the upload will choose (the snapshot's time), taken by an older object.
            const stamp = fs.statSync(snapshotOf(p)).mtime.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
            taken = `gs://${scene.bucket}/${envValue(upload, "OBJECT_PREFIX")}/${stamp.slice(0, 4)}/${envValue(upload, "SNAPSHOT_NAME")}-${stamp}.db`;
            fs.mkdirSync(path.dirname(objectPath(scene.buckets, taken)), { recursive: true });
            fs.writeFileSync(objectPath(scene.buckets, taken), "an older backup");
        });
        expect({ phase: pod.phase, exits: exitCodes(pod) }).toEqual({ phase: "Failed", exits: [["snapshot", [0]], ["verify", [0]], ["upload", [1]]] });
        expect(pod.logs("upload")).toContain(`${taken} exists already: a backup is never replaced`);
        expect(scene.gcs.refusals).toContain(`412 POST /upload/storage/v1/b/${scene.bucket}/o`);
        expect(fs.readFileSync(objectPath(scene.buckets, taken), "utf8")).toBe("an older backup");
        fs.rmSync(objectPath(scene.buckets, taken));
        expect(listObjects(scene.buckets)).toEqual([backupUrl]);
    });

    describe("restoring from that backup: the stack with restore.from, a fresh StatefulSet on empty claims", () => {
        let restore: RestoreStack;
        let pods: StatefulSetPods;
        let restored: MemberPods;

        const claimOf = (ordinal: number) => scene.sandbox.claimDir(pods.claimName(ordinal));
        const initContainer = (name: string) => restore.statefulSet.spec.template.spec.initContainers.find((c: { name: string }) => c.name === name);
        /** Waits until `container` of `pod` has exited (once more than `after` times). */
        const exited = (pod: SandboxPod, container: string, after = 0) =>
            waitFor(`${container} of ${pod.name} to exit`, async () => pod.containerStatuses().find((s) => s.name === container)!.exits.length > after || undefined, { timeoutMs: WAIT_MS, intervalMs: 50 });

        beforeAll(async () => {
            // The source goes (docs/restore.md, step 2) while the restore stack is declared.
            [restore] = await Promise.all([restoreStack, scene.removeSource()]);
            expect(restore.readerRole).toBe("roles/storage.objectViewer");
            expect(restore.statefulSet.spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(["restore-fetch", "restore", "restore-install", "member-join"]);
            expect(envValue(initContainer("restore-fetch"), "SOURCE_URL")).toBe(backupUrl);
            pods = await scene.applyRestore(restore);
            // The source's claims were deleted: each member starts on an empty volume.
            expect(pods.podNames.map((_, ordinal) => fs.readdirSync(claimOf(ordinal)))).toEqual([[], [], []]);
            restored = new MemberPods(scene.sandbox, pods);
        });

        test("the uploader's Google identity may not read the backups: a member fetching with its token is refused (403)", async () => {
            scene.gcs.speakFor(scene.uploaderRole);
            try {
                const pod = await pods.startPod(0);
                await exited(pod, "restore-fetch");
                await pod.delete(0);
                // The kubelet runs it again and again: its first exit is the refusal's.
                expect(exitCodes(pod).slice(0, 2).map(([name, codes]) => [name, (codes as number[])[0]])).toEqual([["restore-fetch", 1], ["restore", undefined]]);
                expect(pod.logs("restore-fetch")).toMatch(/download of gs:\S+ failed: HTTP 403: [\s\S]*storage\.objects\.get/);
            } finally {
                scene.gcs.speakFor(restore.readerRole);
            }
            expect(fs.existsSync(path.join(claimOf(0), "data"))).toBe(false);
        });

        test("a restore that fails halfway leaves no data dir; the restore step alone, run again by the kubelet, stays failed", async () => {
            const object = objectPath(scene.buckets, backupUrl);
            const good = fs.readFileSync(object);
            fs.writeFileSync(object, good.subarray(0, Math.floor(good.length * 0.9)));
            let pod: SandboxPod;
            try {
                pod = await pods.startPod(0);
                // The kubelet restarts the failed init container, not the ones before it.
                await exited(pod, "restore", 1);
                await pod.delete(0);
            } finally {
                fs.writeFileSync(object, good);
            }
            const [fetch, restoreRun] = exitCodes(pod);
            expect(fetch).toEqual(["restore-fetch", [0]]);
            expect(restoreRun[0]).toBe("restore");
            expect((restoreRun[1] as number[]).slice(0, 2).map((code) => code !== 0)).toEqual([true, true]);
            expect(pod.logs("restore-fetch")).toContain(`downloaded ${backupUrl} (${Math.floor(good.length * 0.9)} bytes)`);
            expect(fs.existsSync(path.join(claimOf(0), "data"))).toBe(false);
            // etcdutl refuses the staging dir its failed run left; only a new pod (restore-fetch clears it) gets further.
            expect(pod.logs("restore")).toContain(`data-dir "${DATA_MOUNT}/restore-staging" not empty`);
        });

        test("every member restores from the backup (the failed one on what the failure left) and starts as rendered: 3 voting members, every key and value", async () => {
            scene.gcs.refuseTokenRequests(pods.replicas);
            await pods.startAll();
            await restored.waitHealthy(WAIT_MS);

            const members = await restored.client(2).memberList();
            expect(members.map((m) => [m.name, m.peerURLs, m.isLearner]).sort()).toEqual(
                pods.podNames.map((name) => [name, [`https://${name}.apisix-etcd-headless.etcd.svc.cluster.local:2380`], false]),
            );
            // A new cluster: a member that kept its old data dir could not join it.
            expect(members.some((m) => sourceIds.includes(m.id))).toBe(false);
            for (const ordinal of restored.ordinals) {
                const pod = pods.pod(ordinal);
                expect(pod.logs("restore-fetch")).toContain(`downloaded ${backupUrl} (`);
                expect(pod.logs("restore-install")).toContain(`restored ${DATA_MOUNT}/data`);
                expect(pod.logs("member-join")).toContain(`starting on the data in ${DATA_MOUNT}/data (it has a WAL)`);
                // Restored by the pod's user onto its claim, and nothing else left there.
                expect(fs.readdirSync(claimOf(ordinal))).toEqual(["data"]);
                const data = fs.statSync(path.join(claimOf(ordinal), "data", "member", "snap", "db"));
                expect(data.uid).toBe(65532);
            }

            const data = await restored.client(1).getPrefix("/apisix/");
            expect(data.size).toBe(sourceData.size);
            expect(data).toEqual(sourceData);
        });

        test("the revision is bumped past the backup's, and reads of older revisions are refused as compacted", async () => {
            const restoreArgs: string[] = initContainer("restore").args;
            const bump = Number(restoreArgs[restoreArgs.indexOf("--bump-revision") + 1]);
            expect(bump).toBeGreaterThan(0);
            expect(await restored.client(0).put("/apisix/data_plane/marker", "after-restore")).toBeGreaterThan(sourceRevision + bump);
            const response = await scene.sandbox.http(`${restored.clientUrl(0)}/v3/kv/range`, {
                method: "POST",
                body: JSON.stringify({ key: Buffer.from("/apisix/routes/").toString("base64"), revision: String(sourceRevision) }),
                timeoutMs: 5000,
            });
            expect(response.body).toMatch(/compacted/);
        });

        test("a member whose pod is made again while the restore is still configured keeps its own data", async () => {
            const ordinal = 1;
            const id = (await restored.client(ordinal).status()).memberId;
            await restored.client(0).put("/apisix/routes/written-after-restore", "{}");
            await pods.deletePod(ordinal);
            const pod = await pods.startPod(ordinal);
            await restored.waitHealthy(WAIT_MS);
            expect(pod.logs("restore-install")).toContain(`${DATA_MOUNT}/data holds data: keeping it`);
            expect(fs.readdirSync(claimOf(ordinal))).toEqual(["data"]);
            expect((await restored.client(ordinal).status()).memberId).toBe(id);
            expect(await restored.client(ordinal).get("/apisix/routes/written-after-restore")).toBe("{}");
        });
    });
});
