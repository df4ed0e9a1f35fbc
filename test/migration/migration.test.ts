// docs/migration.md's in-place path in the pod sandbox, on real etcd 3.5: today's member as Bitnami's
// StatefulSet runs it (UID 1001, its data dir /bitnami/etcd/data on the claim data-apisix-etcd-0) holding
// APISIX-shaped data with history, a writer and an APISIX-style watch on /apisix through the client Service;
// the stack's rendered StatefulSet (prod, `migration.fromBitnami: true`) takes the claim over: member 0
// starts on Bitnami's data under its member ID, its peer URL moved to https, members 1 and 2 join. Then the
// rollback (the Bitnami member again on the claim), and a member 0 whose claim holds no data, which must not
// found a cluster. The write gap and the watch's resumption are measured in `npm run bench`.
import { lstatSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { waitFor } from "../etcd/wait";
import { NON_ROOT_UID } from "../../components/security-context";
import { BITNAMI_UID } from "./bitnami-statefulset";
import { APISIX_PREFIX, configMapsAfterMembers, InPlaceMigration, type MemberIdentity, type TakeoverTimes } from "./in-place-migration";

jest.setTimeout(90_000);

const WAIT_MS = 45_000;
const SHAPE = { routes: 1500, upstreams: 300, services: 100 };
const CLAIM = "data-apisix-etcd-0";
const peerUrl = (pod: string, scheme: string) => `${scheme}://${pod}.apisix-etcd-headless.etcd.svc.cluster.local:2380`;

let migration: InPlaceMigration;
let before: { identity: MemberIdentity; data: Map<string, string>; claim: ClaimFile[] };
let takeover: TakeoverTimes;

interface ClaimFile {
    file: string;
    uid: number;
    gid: number;
    mode: number;
}
/** Every file and directory on the claim's volume, relative to its root, with owner, group and mode. */
function claimFiles(): ClaimFile[] {
    const root = migration.sandbox.claimDir(CLAIM);
    const walk = (dir: string): ClaimFile[] =>
        readdirSync(dir).flatMap((name) => {
            const file = path.join(dir, name);
            const info = lstatSync(file);
            const entry = { file: path.relative(root, file), uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 };
            return info.isDirectory() ? [entry, ...walk(file)] : [entry];
        });
    return walk(root);
}

beforeAll(async () => {
    migration = await InPlaceMigration.create();
    await migration.startBitnami(WAIT_MS);
    await migration.fillApisixData(SHAPE);
    await migration.startLoad(WAIT_MS);
    before = { identity: await migration.identity(migration.members.clientUrl(0)), data: await migration.memberZero.getPrefix(APISIX_PREFIX), claim: claimFiles() };
    takeover = await migration.takeOver(WAIT_MS);
});

afterAll(async () => {
    await migration?.close();
});

describe("the in-place takeover of the Bitnami member's claim", () => {
    test("the Bitnami member left its data in data/ on the claim, every file owned by UID 1001 and private to it", () => {
        const wal = before.claim.filter((f) => /^data\/member\/wal\/[0-9a-f-]+\.wal$/.test(f.file));
        expect(wal.length).toBeGreaterThan(0);
        expect(before.claim.map((f) => f.file)).toContain("data/member/snap/db");
        for (const entry of before.claim) expect(entry.uid).toBe(BITNAMI_UID);
        // etcd's own modes: the data dir 0700, its files 0600; the group is Bitnami's fsGroup's.
        expect(before.claim.find((f) => f.file === "data")?.mode).toBe(0o2700);
        for (const entry of wal) expect([entry.gid, entry.mode]).toEqual([BITNAMI_UID, 0o600]);
    });

    test("members 1 and 2 never join the Bitnami member, whose peer URL is http", () => {
        for (const ordinal of [1, 2]) {
            const log = migration.sandbox.pods.filter((p) => p.name === migration.stack.podName(ordinal))[0].logs("member-join");
            expect(log).toContain("member apisix-etcd-0 does not advertise a https peer URL yet");
        }
    });

    test("member 0 starts on Bitnami's data dir under its member ID, in its cluster, with its revisions", async () => {
        const log = migration.stack.pod(0).logs("member-join");
        expect(log).toContain("starting on the data in /var/lib/etcd/data (it has a WAL)");
        expect(log).not.toMatch(/founding|moved .* aside/);
        const after = await migration.identity(migration.members.clientUrl(0));
        expect(after.memberId).toBe(before.identity.memberId);
        expect(after.clusterId).toBe(before.identity.clusterId);
        expect(after.revision).toBeGreaterThan(before.identity.revision);
        // The kubelet gave the stack's fsGroup to Bitnami's files (the member runs as 65532, they stay UID 1001's).
        const walFile = claimFiles().find((f) => f.file.endsWith(".wal") && f.uid === BITNAMI_UID);
        expect(walFile && [walFile.gid, walFile.mode & 0o060]).toEqual([NON_ROOT_UID, 0o060]);
    });

    test("three voting members on https peer URLs, member 0's moved from Bitnami's http one; every key equal on each", async () => {
        const members = await migration.memberZero.memberList();
        expect(members.map((m) => [m.name, m.isLearner, m.peerURLs]).sort()).toEqual(
            ["apisix-etcd-0", "apisix-etcd-1", "apisix-etcd-2"].map((name) => [name, false, [peerUrl(name, "https")]]),
        );
        expect(members.find((m) => m.name === "apisix-etcd-0")?.id).toBe(before.identity.memberId);
        expect(migration.stack.pod(0).logs("membership")).toContain(`updated the peer URL of ${before.identity.memberId} to ${peerUrl("apisix-etcd-0", "https")}`);
        const writerKey = migration.writer!.key;
        for (const ordinal of migration.members.ordinals) {
            const data = await migration.members.client(ordinal).getPrefix(APISIX_PREFIX);
            data.delete(writerKey);
            const expected = new Map(before.data);
            expected.delete(writerKey);
            expect(data).toEqual(expected);
        }
    });

    test("the watch resumes from its last revision on the new member 0: no compaction, no full reload, every event once", async () => {
        const outcome = await migration.endLoad(WAIT_MS);
        expect(outcome.watchCompactions).toEqual([]);
        // Cut off when Bitnami's member went away, then resumed right after the last revision it had seen.
        expect(outcome.watchResumes.length).toBeGreaterThanOrEqual(1);
        for (const from of outcome.watchResumes) expect(from).toBeGreaterThan(before.identity.revision);
        expect(outcome).toMatchObject({ acknowledgedWritesNotWatched: 0, eventsMissed: 0, eventsTwice: 0, eventsNotInHistory: 0 });
        expect(outcome.watchedEvents).toBeGreaterThanOrEqual(outcome.acknowledgedWrites);
        console.log(`migration: ${JSON.stringify({ ...takeover, ...outcome })}`);
    });
});

describe("the rollback: the Bitnami StatefulSet again on the claim after the stack's member ran on it", () => {
    let scaleDownLog: string;
    let stackMemberFiles: ClaimFile[];

    beforeAll(async () => {
        // The stack's defragmentation (its weekly CronJob) rewrites the database: from then on the file is the stack's user's.
        const defrag = await migration.sandbox.http(`${migration.members.clientUrl(0)}/v3/maintenance/defragment`, { method: "POST", body: "{}", timeoutMs: 20_000 });
        expect(defrag.status).toBe(200);
        scaleDownLog = await migration.removeStack(WAIT_MS);
        stackMemberFiles = claimFiles().filter((f) => f.uid === NON_ROOT_UID);
        await migration.startBitnami(WAIT_MS);
    });

    test("the stack shrunk to one member first (its scale-down Job), then Bitnami's member runs on the data as UID 1001", async () => {
        expect(scaleDownLog).toMatch(/removed member apisix-etcd-2 .*\n(.*\n)*.*removed member apisix-etcd-1 .*\n(.*\n)*.*done: 2 member\(s\) removed/);
        // Files the stack's member made (UID 65532) that Bitnami's user reads through the kubelet's fsGroup change.
        expect(stackMemberFiles.map((f) => [f.file, f.mode])).toContainEqual(["data/member/snap/db", 0o600]);
        const db = claimFiles().find((f) => f.file === "data/member/snap/db")!;
        expect([db.uid, db.gid, db.mode]).toEqual([NON_ROOT_UID, BITNAMI_UID, 0o660]);
        const identity = await migration.identity(migration.members.clientUrl(0));
        expect(identity.memberId).toBe(before.identity.memberId);
        expect(identity.clusterId).toBe(before.identity.clusterId);
        const members = await migration.memberZero.memberList();
        expect(members.map((m) => m.id)).toEqual([before.identity.memberId]);
    });

    test("every key is there, with the writes made on the stack's cluster, and it takes writes", async () => {
        const data = await migration.memberZero.getPrefix(APISIX_PREFIX);
        const writer = migration.writer!;
        expect(data.get(writer.key)).toBe(writer.acks[writer.acks.length - 1].value);
        data.delete(writer.key);
        const expected = new Map(before.data);
        expected.delete(writer.key);
        expect(data).toEqual(expected);
        await migration.memberZero.put(`${APISIX_PREFIX}routes/after-rollback`, "{}");
    });
});

describe("no data on member 0's claim (a wrong claim, or Bitnami's deleted)", () => {
    test("the migration's founded marker exists before the members, so member 0 waits and never founds a new, empty cluster", async () => {
        expect(configMapsAfterMembers(migration.declared.migration)).toEqual([]);
        expect(migration.sandbox.configMaps.has("apisix-etcd-founded")).toBe(true);
        await migration.bitnami.deletePod(0);
        migration.sandbox.deleteClaim(CLAIM);
        await migration.stack.startPod(0);
        const pod = migration.stack.pod(0);
        await waitFor("member 0 refusing to found", async () => pod.logs("member-join").includes("not founding another one"), { timeoutMs: WAIT_MS });
        expect(pod.logs("member-join")).not.toContain("founding a new cluster");
        expect(pod.containerStatuses().find((c) => c.name === "etcd")?.exits ?? []).toEqual([]);
        expect(pod.logs("etcd")).toBe("");
    });
});
