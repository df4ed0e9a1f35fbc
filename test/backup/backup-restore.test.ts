// The backup CronJob and the restore init containers of the rendered stack, run for real against
// etcd 3.5: the rendered prod CronJob's steps back up a running 3-member cluster that holds
// APISIX-shaped data, exactly as declared (test/backup/pod-steps.ts maps only the client Service's
// address, the pod's volumes, the user Secret's values and the binaries; the GCS stand-in,
// test/backup/gcs-stand-in.ts, keeps the bucket in a folder and refuses what GCS refuses the role the
// stack grants each pod's Google identity; the members' Secrets come from test/etcd/stack-secrets.ts).
// The stack rendered with `restore.from` set to that backup then restores a fresh 3-member cluster
// with its members' init containers, and the members start as rendered.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";
import { etcdBinaries, type EtcdBinaries } from "../etcd/binaries";
import { EtcdClient } from "../etcd/etcd-client";
import { LocalCluster } from "../etcd/local-cluster";
import type { SecretStandIns } from "../etcd/pod-volumes";
import { manifestConfigMaps, membersFromStatefulSet, type RenderedMemberSpec } from "../etcd/rendered-members";
import { makeMemberSecrets, USER_SECRET_KEY_REFS } from "../etcd/stack-secrets";
import { apisixEntries, putAll } from "./apisix-data";
import { createBucket, gcsStep, grantedRole, installGcsStandIn, listObjects, objectPath } from "./fake-gcs";
import { memberRestoreSteps } from "./member-restore-steps";
import { podSteps, runSteps, type PodStep, type StepResult } from "./pod-steps";

jest.setTimeout(120_000);

/** Not used by any other test file (.21-.23 harness, .31-.33 cluster-from-manifest). */
const SOURCE_IPS = ["127.0.0.41", "127.0.0.42", "127.0.0.43"];
const RESTORED_IPS = ["127.0.0.51", "127.0.0.52", "127.0.0.53"];
const WAIT_MS = 20_000;
const SHAPE = { routes: 3000, upstreams: 500, services: 200 };

const succeeded = (results: StepResult[]) => results.map((r) => [r.name, r.status]);
const failureOf = (results: StepResult[]) => results.map((r) => `${r.name} exited ${r.status}:\n${r.stderr.slice(-2000)}`).join("\n");

describe("backup and restore of the rendered stack on real etcd", () => {
    let work: string;
    let bins: EtcdBinaries;
    let fakeBin: string;
    let buckets: string;
    let cronJob: RenderedManifest;
    /** The role the stack grants the backup pods' Google identity on the bucket. */
    let uploaderRole: string;
    let source: LocalCluster;
    let sourceMembers: RenderedMemberSpec[];
    let sourceData: Map<string, string>;
    let sourceRevision: number;
    let backupUrl: string;
    /** The members' Secrets: one certificate for the source and the restored members, as on GKE. */
    let secrets: SecretStandIns;
    let restoreStack: Promise<DeclaredStack[]>;
    const clusters: LocalCluster[] = [];

    /** The rendered CronJob's pod, its volumes in folders under `<work>/<run>`, talking to a source member. */
    function backupSteps(run: string): PodStep[] {
        const pod = cronJob.spec.jobTemplate.spec.template.spec;
        const endpoint = pod.initContainers[0].env.find((e: { name: string }) => e.name === "ETCDCTL_ENDPOINTS").value as string;
        const serviceHost = new URL(endpoint).hostname;
        // The client Service: the only address mapped, to one (healthy) member, as the Service would.
        expect(serviceHost).toMatch(/^apisix-etcd\.etcd\.svc\./);
        const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, path.join(work, run, v.name)]));
        for (const dir of Object.values(volumes)) fs.mkdirSync(dir as string, { recursive: true });
        const steps = podSteps(pod, {
            volumes: volumes as Record<string, string>,
            replace: { [serviceHost]: SOURCE_IPS[1] },
            binaries: { etcdctl: bins.etcdctl, etcdutl: bins.etcdutl, bash: "/bin/bash" },
            // Authentication is not enabled on these members: etcdctl goes on anonymously.
            secretKeyRefs: USER_SECRET_KEY_REFS,
        });
        return steps.map((step) => (step.name === "upload" ? gcsStep(step, { role: uploaderRole, tokenRefusals: 1 }) : step));
    }

    const snapshotOf = (run: string) => path.join(work, run, "backup", "snapshot.db");

    beforeAll(async () => {
        bins = await etcdBinaries();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-backup-restore-"));
        fakeBin = path.join(work, "bin");
        buckets = path.join(work, "gcs");
        installGcsStandIn(fakeBin, buckets);

        const { manifests, plan } = renderedPlan("prod");
        cronJob = findManifest(manifests, "CronJob", "apisix-etcd-backup");
        uploaderRole = grantedRole(plan.resources, manifests, cronJob.spec.jobTemplate.spec.template.spec.serviceAccountName);
        expect(uploaderRole).toBe("roles/storage.objectCreator");
        createBucket(buckets, cronJob.spec.jobTemplate.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "BUCKET").value);
        ({ secrets } = makeMemberSecrets(path.join(work, "secrets"), { manifests, resources: plan.resources }, [...SOURCE_IPS, ...RESTORED_IPS]));
        sourceMembers = membersFromStatefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"), {
            configMaps: manifestConfigMaps(manifests),
            ips: SOURCE_IPS,
            dataRoot: path.join(work, "source"),
            binDir: bins.binDir,
            secrets,
        });
        source = new LocalCluster({ members: sourceMembers, workDir: path.join(work, "source-logs"), etcdBinary: sourceMembers[0].binary });
        clusters.push(source);
        await source.start();
        await source.waitHealthy(WAIT_MS);

        // APISIX-shaped data with some history: everything written, then routes updated, upstreams deleted.
        const url = `http://${SOURCE_IPS[0]}:2379`;
        const entries = apisixEntries(SHAPE);
        await putAll(url, entries);
        const updated = new Map([...entries].filter(([key]) => key.startsWith("/apisix/routes/")).slice(0, 500).map(([key, value]) => [key, value.replace('"status":1', '"status":0')]));
        await putAll(url, updated);
        const client = source.client(sourceMembers[0].name);
        for (const key of [...entries.keys()].filter((k) => k.startsWith("/apisix/upstreams/")).slice(0, 50)) {
            expect(await client.deletePrefix(key)).toBe(1);
        }
        sourceRevision = await client.put("/apisix/data_plane/marker", "before-backup");
        sourceData = await client.getPrefix("/apisix/");
        expect(sourceData.size).toBe(SHAPE.routes + SHAPE.upstreams + SHAPE.services - 50 + 1);
    });

    afterAll(async () => {
        for (const cluster of clusters) await cluster.stopAll();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("the rendered backup steps save a snapshot from the cluster, verify it, and upload it named by its time as a create-only identity", () => {
        const steps = backupSteps("good");
        expect(steps.map((s) => s.name)).toEqual(["snapshot", "verify", "upload"]);
        const before = new Date();
        const results = runSteps(steps, { path: [fakeBin] });
        expect({ steps: succeeded(results), failure: results.some((r) => r.status !== 0) ? failureOf(results) : "" }).toEqual({ steps: [["snapshot", 0], ["verify", 0], ["upload", 0]], failure: "" });

        const objects = listObjects(buckets);
        expect(objects).toHaveLength(1);
        backupUrl = objects[0];
        const bucket = cronJob.spec.jobTemplate.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "BUCKET").value;
        const [, year, stamp] = new RegExp(`^gs://${bucket}/etcd/(\\d{4})/apisix-etcd-(\\d{8}T\\d{6}Z)\\.db$`).exec(backupUrl) ?? [];
        expect(stamp).toBeDefined();
        expect(year).toBe(stamp.slice(0, 4));
        const taken = new Date(stamp.replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/, "$1-$2-$3T$4:$5:$6Z"));
        expect(taken.getTime()).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000) * 1000);
        expect(taken.getTime()).toBeLessThanOrEqual(Date.now());
        expect(fs.readFileSync(objectPath(buckets, backupUrl)).equals(fs.readFileSync(snapshotOf("good")))).toBe(true);

        // The stack as it would be declared to restore from this backup (a process of its own; awaited below).
        restoreStack = declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:restore": { from: backupUrl } } }]);
    });

    test.each([
        ["truncated to half its size", (file: string) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
        [
            "with one byte changed in the middle",
            (file: string) => {
                const bytes = fs.readFileSync(file);
                bytes[Math.floor(bytes.length / 2)] ^= 0xff;
                fs.writeFileSync(file, bytes);
            },
        ],
        ["without its last byte (the integrity hash cut short)", (file: string) => fs.truncateSync(file, fs.statSync(file).size - 1)],
    ])("a snapshot %s fails verification, fails the run and is never uploaded", (_, damage) => {
        const run = `damaged-${Math.random().toString(36).slice(2)}`;
        const results = runSteps(backupSteps(run), { path: [fakeBin], after: (step) => step === "snapshot" && damage(snapshotOf(run)) });
        expect(results.map((r) => r.name)).toEqual(["snapshot", "verify"]);
        expect(results[1].status).not.toBe(0);
        expect(listObjects(buckets)).toEqual([backupUrl]);
    });

    describe("restoring from that backup with the rendered restore steps", () => {
        let statefulSet: RenderedManifest;
        let restoredConfigMaps: ReturnType<typeof manifestConfigMaps>;
        let readerRole: string;
        let restored: LocalCluster;
        let restoredMembers: RenderedMemberSpec[];
        const binaries = () => ({ etcdutl: bins.etcdutl, bash: "/bin/bash" });
        // The metadata server drops the first token request of each member: they wait for it.
        const stepsFor = (dataRoot: string) =>
            memberRestoreSteps(statefulSet, { ips: RESTORED_IPS, dataRoot, scratchRoot: `${dataRoot}-scratch`, binaries: binaries(), readerRole, tokenRefusals: 1 });

        beforeAll(async () => {
            const [stack] = await restoreStack;
            expect(stack.error).toBeUndefined();
            statefulSet = stack.manifests.find((m) => m.kind === "StatefulSet" && m.metadata.name === "apisix-etcd")!;
            restoredConfigMaps = manifestConfigMaps(stack.manifests);
            readerRole = grantedRole(stack.resources, stack.manifests, statefulSet.spec.template.spec.serviceAccountName);
            expect(readerRole).toBe("roles/storage.objectViewer");
            expect(statefulSet.spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(["restore-fetch", "restore", "restore-install", "member-join"]);
        });

        test("a restore that fails halfway leaves no data dir, and the next attempt restores cleanly", () => {
            const dataRoot = path.join(work, "failed-restore");
            const [steps] = stepsFor(dataRoot);
            const object = objectPath(buckets, backupUrl);
            const good = fs.readFileSync(object);
            fs.writeFileSync(object, good.subarray(0, Math.floor(good.length * 0.9)));
            try {
                const failed = runSteps(steps, { path: [fakeBin] });
                expect(failed.map((r) => [r.name, r.status === 0])).toEqual([["restore-fetch", true], ["restore", false]]);
                expect(fs.existsSync(path.join(dataRoot, "apisix-etcd-0", "data"))).toBe(false);
            } finally {
                fs.writeFileSync(object, good);
            }
            const retried = runSteps(steps, { path: [fakeBin] });
            expect(retried.every((r) => r.status === 0)).toBe(true);
            expect(fs.readdirSync(path.join(dataRoot, "apisix-etcd-0"))).toEqual(["data"]);
        });

        test("every member restores from the backup; the new cluster is healthy and holds every key and value", async () => {
            const dataRoot = path.join(work, "restored");
            for (const steps of stepsFor(dataRoot)) {
                const results = runSteps(steps, { path: [fakeBin] });
                if (!results.every((r) => r.status === 0) || results.length !== steps.length) throw new Error(failureOf(results));
            }
            restoredMembers = membersFromStatefulSet(statefulSet, { ips: RESTORED_IPS, dataRoot, binDir: bins.binDir, secrets, configMaps: restoredConfigMaps });
            restored = new LocalCluster({ members: restoredMembers, workDir: path.join(work, "restored-logs"), etcdBinary: restoredMembers[0].binary });
            clusters.push(restored);
            await restored.startInTurn(WAIT_MS);
            await restored.waitHealthy(WAIT_MS);

            const client = restored.client(restoredMembers[2].name);
            const members = await client.memberList();
            expect(members.map((m) => [m.name, m.peerURLs]).sort()).toEqual(RESTORED_IPS.map((ip, i) => [`apisix-etcd-${i}`, [`https://${ip}:2380`]]));
            // A new cluster: a member that kept its old data dir could not join it.
            const sourceIds = (await source.client(sourceMembers[0].name).memberList()).map((m) => m.id);
            expect(members.some((m) => sourceIds.includes(m.id))).toBe(false);

            const data = await client.getPrefix("/apisix/");
            expect(data.size).toBe(sourceData.size);
            expect(data).toEqual(sourceData);
        });

        test("the revision is bumped past the backup's, and reads of older revisions are refused as compacted", async () => {
            const restoreArgs: string[] = statefulSet.spec.template.spec.initContainers[1].args;
            const bump = Number(restoreArgs[restoreArgs.indexOf("--bump-revision") + 1]);
            expect(bump).toBeGreaterThan(0);
            const client = restored.client(restoredMembers[0].name);
            expect(await client.put("/apisix/data_plane/marker", "after-restore")).toBeGreaterThan(sourceRevision + bump);
            const response = await fetch(`${client.endpoint}/v3/kv/range`, {
                method: "POST",
                body: JSON.stringify({ key: Buffer.from("/apisix/routes/").toString("base64"), revision: String(sourceRevision) }),
            });
            expect(await response.text()).toMatch(/compacted/);
        });

        test("a member restarted while the restore is still configured keeps its own data", async () => {
            const member = restoredMembers[1];
            const writer = restored.client(restoredMembers[0].name);
            await writer.put("/apisix/routes/written-after-restore", "{}");
            await restored.stopMember(member.name);

            const results = runSteps(stepsFor(path.join(work, "restored"))[1], { path: [fakeBin] });
            expect(results.every((r) => r.status === 0)).toBe(true);
            expect(results[2].stdout).toMatch(/holds data: keeping it/);
            expect(fs.readdirSync(member.dataDir)).toEqual(["data"]);

            await restored.restartMember(member.name);
            await restored.waitHealthy(WAIT_MS);
            expect(await new EtcdClient(`http://${member.ip}:2379`).get("/apisix/routes/written-after-restore")).toBe("{}");
        });
    });
});
