/** The upload step's script, run by bash with a stand-in gcloud that copies into a local folder. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { installFakeGcloud, listObjects } from "../../test/backup/fake-gcloud";
import { UPLOAD_SCRIPT } from "./upload-script";

let dir: string;
let buckets: string;
let snapshot: string;

function upload(env: Record<string, string> = {}) {
    return spawnSync("bash", ["-c", UPLOAD_SCRIPT], {
        encoding: "utf8",
        env: {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            SNAPSHOT: snapshot,
            BUCKET: "apisix-prod-apisix-etcd-backups",
            OBJECT_PREFIX: "etcd",
            SNAPSHOT_NAME: "apisix-etcd",
            ...env,
        },
    });
}

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upload-script-"));
    buckets = path.join(dir, "gcs");
    installFakeGcloud(path.join(dir, "bin"), buckets);
    snapshot = path.join(dir, "snapshot.db");
    fs.writeFileSync(snapshot, "snapshot bytes");
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("uploads the snapshot under <prefix>/<year>/<name>-<UTC time it was written>.db", () => {
    const written = new Date("2024-02-29T23:59:58.700Z");
    fs.utimesSync(snapshot, written, written);
    const result = upload({ TZ: "America/New_York" });
    expect(result.status).toBe(0);
    const object = "gs://apisix-prod-apisix-etcd-backups/etcd/2024/apisix-etcd-20240229T235958Z.db";
    expect(listObjects(buckets)).toEqual([object]);
    expect(fs.readFileSync(path.join(buckets, object.slice(5)), "utf8")).toBe("snapshot bytes");
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

test("uploads nothing and fails when there is no snapshot", () => {
    fs.rmSync(snapshot);
    const result = upload();
    expect(result.status).not.toBe(0);
    expect(listObjects(buckets)).toEqual([]);
});

test("fails when the upload fails", () => {
    fs.writeFileSync(path.join(dir, "bin", "gcloud"), "#!/bin/sh\necho 'AccessDenied' >&2\nexit 1\n", { mode: 0o755 });
    const result = upload();
    expect(result.status).not.toBe(0);
    expect(result.stdout).not.toContain("uploaded");
});
