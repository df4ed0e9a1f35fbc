/**
 * The upload step's script, run by bash inside the GCS stand-in (test/backup/gcs-stand-in.ts) as
 * the identity the stack gives the uploader: `roles/storage.objectCreator`, which may create objects
 * and nothing else (no metadata reads, no lists, no overwrites).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createBucket, GCS_STAND_IN, installGcsStandIn, listObjects, objectPath } from "../../test/backup/fake-gcs";
import { gcsEnvironment } from "../gcs-json-api";
import { UPLOAD_SCRIPT } from "./upload-script";

const BUCKET = "apisix-prod-apisix-etcd-backups";
const CREATOR = "roles/storage.objectCreator";

let dir: string;
let buckets: string;
let snapshot: string;

function upload(options: { role?: string; tokenRefusals?: number; env?: Record<string, string> } = {}) {
    const production = Object.fromEntries(gcsEnvironment().map((e) => [e.name, e.value as string]));
    return spawnSync(GCS_STAND_IN, ["--role", options.role ?? CREATOR, "--token-refusals", String(options.tokenRefusals ?? 0), "--", "bash", "-c", UPLOAD_SCRIPT], {
        encoding: "utf8",
        timeout: 60_000,
        env: {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            ...production,
            SNAPSHOT: snapshot,
            BUCKET,
            OBJECT_PREFIX: "etcd",
            SNAPSHOT_NAME: "apisix-etcd",
            ...options.env,
        },
    });
}

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upload-script-"));
    buckets = path.join(dir, "gcs");
    installGcsStandIn(path.join(dir, "bin"), buckets);
    createBucket(buckets, BUCKET);
    snapshot = path.join(dir, "snapshot.db");
    fs.writeFileSync(snapshot, "snapshot bytes");
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("a create-only identity uploads the snapshot under <prefix>/<year>/<name>-<UTC time it was written>.db", () => {
    const written = new Date("2024-02-29T23:59:58.700Z");
    fs.utimesSync(snapshot, written, written);
    const result = upload({ env: { TZ: "America/New_York" } });
    expect(result.status).toBe(0);
    const object = `gs://${BUCKET}/etcd/2024/apisix-etcd-20240229T235958Z.db`;
    expect(listObjects(buckets)).toEqual([object]);
    expect(fs.readFileSync(objectPath(buckets, object), "utf8")).toBe("snapshot bytes");
    expect(result.stdout).toContain(`uploaded ${object} (14 bytes)`);
});

test("names sort by the time the snapshots were taken", () => {
    const times = ["2025-12-31T23:00:00Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z", "2025-06-30T12:00:00Z"].map((t) => new Date(t));
    for (const time of times) {
        fs.utimesSync(snapshot, time, time);
        expect(upload().status).toBe(0);
    }
    const byName = listObjects(buckets);
    const byTime = [...times].sort((a, b) => a.getTime() - b.getTime()).map((t) => t.toISOString().replace(/[-:]|\.\d+/g, ""));
    expect(byName.map((url) => /-(\d{8}T\d{6}Z)\.db$/.exec(url)![1])).toEqual(byTime);
});

test("a backup of the same name is never replaced: GCS refuses it, the run fails and the first stays", () => {
    const taken = new Date("2026-03-01T06:17:05Z");
    fs.utimesSync(snapshot, taken, taken);
    expect(upload().status).toBe(0);
    const [first] = listObjects(buckets);
    fs.writeFileSync(snapshot, "other bytes");
    fs.utimesSync(snapshot, taken, taken);
    const again = upload();
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain(`${first} exists already: a backup is never replaced`);
    expect(listObjects(buckets)).toEqual([first]);
    expect(fs.readFileSync(objectPath(buckets, first), "utf8")).toBe("snapshot bytes");
});

test("waits for the metadata server, which may not answer right after the pod starts", () => {
    const result = upload({ tokenRefusals: 2 });
    expect(result.status).toBe(0);
    expect(listObjects(buckets)).toHaveLength(1);
});

test("gives up, uploading nothing, when no token comes within METADATA_WAIT_SECONDS", () => {
    const started = Date.now();
    const result = upload({ tokenRefusals: 1000, env: { METADATA_WAIT_SECONDS: "3" } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("no access token from the metadata server within 3s");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(listObjects(buckets)).toEqual([]);
});

test("fails, uploading nothing, when the identity may not create objects", () => {
    const result = upload({ role: "roles/storage.objectViewer" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/HTTP 403: .*storage\.objects\.create/s);
    expect(listObjects(buckets)).toEqual([]);
});

test("uploads nothing and fails when there is no snapshot", () => {
    fs.rmSync(snapshot);
    const result = upload();
    expect(result.status).not.toBe(0);
    expect(listObjects(buckets)).toEqual([]);
});

test("fails when the bucket does not exist", () => {
    const result = upload({ env: { BUCKET: "no-such-bucket" } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("HTTP 404");
    expect(result.stdout).not.toContain("uploaded");
});
