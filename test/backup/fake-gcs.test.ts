/**
 * The GCS stand-in refuses what GCS refuses an identity with one role on a bucket: probed with curl
 * from inside it, as a step would talk to it; and, as the pod sandbox serves it, each identity's
 * token keeps its own role.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { gcsEnvironment } from "../../components/gcs-json-api";
import { createBucket, GCS_STAND_IN, installGcsStandIn, listObjects } from "./fake-gcs";
import { GcsStandIn } from "./gcs-stand-in";

let dir: string;
let buckets: string;

/** Runs a bash probe inside the stand-in; `$TOKEN` holds the identity's token, `status <curl args>` prints an HTTP status. */
function probe(role: string, script: string): string[] {
    const env = Object.fromEntries(gcsEnvironment().map((e) => [e.name, e.value as string]));
    const prelude = `set -euo pipefail
status() { curl --silent --output /dev/null --write-out '%{http_code}\\n' "$@"; }
TOKEN=$(curl --silent --fail -H 'Metadata-Flavor: Google' "$METADATA_URL/computeMetadata/v1/instance/service-accounts/default/token" | sed -n 's/.*"access_token": *"\\([^"]*\\)".*/\\1/p')
AUTH="Authorization: Bearer $TOKEN"
O="$STORAGE_URL/storage/v1/b/b/o"
U="$STORAGE_URL/upload/storage/v1/b/b/o?uploadType=media"
`;
    const run = spawnSync(GCS_STAND_IN, ["--role", role, "--", "bash", "-c", prelude + script], {
        encoding: "utf8",
        timeout: 30_000,
        env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, ...env },
    });
    if (run.status !== 0) throw new Error(`probe exited ${run.status}: ${run.stderr}`);
    return run.stdout.trim().split("\n");
}

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-gcs-"));
    buckets = path.join(dir, "gcs");
    installGcsStandIn(path.join(dir, "bin"), buckets);
    createBucket(buckets, "b");
    fs.mkdirSync(path.join(buckets, "b", "etcd"));
    fs.writeFileSync(path.join(buckets, "b", "etcd", "old.db"), "old");
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("an object creator may create objects and nothing else: no reads of metadata or data, no lists, no overwrites", () => {
    expect(
        probe(
            "roles/storage.objectCreator",
            `status -X POST --data-binary new -H "$AUTH" "$U&name=etcd%2Fnew.db"
status -H "$AUTH" "$O/etcd%2Fold.db"
status -H "$AUTH" "$O/etcd%2Fmissing.db"
status -H "$AUTH" "$O/etcd%2Fold.db?alt=media"
status -H "$AUTH" "$O?prefix=etcd/"
status -X POST --data-binary again -H "$AUTH" "$U&name=etcd%2Fold.db"
status -X POST --data-binary again -H "$AUTH" "$U&name=etcd%2Fold.db&ifGenerationMatch=0"`,
        ),
    ).toEqual(["200", "403", "403", "403", "403", "403", "412"]);
    expect(listObjects(buckets)).toEqual(["gs://b/etcd/new.db", "gs://b/etcd/old.db"]);
    expect(fs.readFileSync(path.join(buckets, "b", "etcd", "old.db"), "utf8")).toBe("old");
});

test("an object viewer may read objects, but not create any", () => {
    expect(
        probe(
            "roles/storage.objectViewer",
            `curl --silent -H "$AUTH" "$O/etcd%2Fold.db?alt=media"; echo
status -H "$AUTH" "$O/etcd%2Fmissing.db"
status -X POST --data-binary new -H "$AUTH" "$U&name=etcd%2Fnew.db"`,
        ),
    ).toEqual(["old", "404", "403"]);
});

test("every request needs the identity's bearer token; the metadata server needs Metadata-Flavor", () => {
    expect(
        probe(
            "roles/storage.objectAdmin",
            `status -X POST --data-binary new "$U&name=etcd%2Fnew.db"
status -X POST --data-binary new -H "Authorization: Bearer ya29.someone-else" "$U&name=etcd%2Fnew.db"
status "$METADATA_URL/computeMetadata/v1/instance/service-accounts/default/token"`,
        ),
    ).toEqual(["401", "401", "403"]);
    expect(listObjects(buckets)).toEqual(["gs://b/etcd/old.db"]);
});

test("an upload cut short stores nothing", () => {
    // Announces 1 MiB, sends 5 bytes and closes the connection.
    const [status] = probe(
        "roles/storage.objectCreator",
        `port=\${STORAGE_URL##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /upload/storage/v1/b/b/o?uploadType=media&name=cut.db HTTP/1.1\\r\\nHost: x\\r\\n%s\\r\\nContent-Length: 1048576\\r\\n\\r\\nhello' "$AUTH" >&3
exec 3>&-
sleep 0.5
status -H "Authorization: Bearer $TOKEN" "$STORAGE_URL/storage/v1/b/b/o/cut.db"`,
    );
    expect(status).toBe("403");
    expect(listObjects(buckets)).toEqual(["gs://b/etcd/old.db"]);
});

test("an identity's token carries its own role only, whichever identity the metadata server speaks for now", async () => {
    const standIn = new GcsStandIn(buckets);
    const server = http.createServer(standIn.both);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const token = async () => {
        const response = await fetch(`${base}/computeMetadata/v1/instance/service-accounts/default/token`, { headers: { "Metadata-Flavor": "Google" } });
        return ((await response.json()) as { access_token: string }).access_token;
    };
    const read = async (bearer: string) => (await fetch(`${base}/storage/v1/b/b/o/etcd%2Fold.db?alt=media`, { headers: { authorization: `Bearer ${bearer}` } })).status;
    try {
        standIn.speakFor("roles/storage.objectCreator");
        const creator = await token();
        standIn.speakFor("roles/storage.objectViewer");
        const viewer = await token();
        expect(viewer).not.toBe(creator);
        expect([await read(creator), await read(viewer)]).toEqual([403, 200]);
        expect(standIn.refusals).toEqual(["403 GET /storage/v1/b/b/o/etcd%2Fold.db"]);
    } finally {
        server.closeAllConnections(); // fetch keeps its connections open
        await new Promise((resolve) => server.close(resolve));
        standIn.close();
    }
});
