/**
 * The snapshot script run by a POSIX shell against a stand-in kubectl that keeps VolumeSnapshots
 * as files, and logs what it was asked to do.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { VOLUME_SNAPSHOT_SCRIPT } from "./volume-snapshot-script";

/** kubectl as far as the script uses it; state in $FAKE_K8S: claims/<name>, snapshots/<name> (holding the claim). */
const FAKE_KUBECTL = `#!/bin/sh
set -eu
echo "kubectl $*" >> "$FAKE_K8S/log"
[ "$1" = --namespace ] && [ "$2" = etcd ] && shift 2
case "$1 $2" in
  "get persistentvolumeclaim") [ -e "$FAKE_K8S/claims/$3" ] || { echo "persistentvolumeclaims \\"$3\\" not found" >&2; exit 1; } ;;
  "create -f")
    manifest=$(cat)
    name=$(printf '%s\\n' "$manifest" | sed -n 's/^  name: //p')
    claim=$(printf '%s\\n' "$manifest" | sed -n 's/^    persistentVolumeClaimName: //p')
    label=$(printf '%s\\n' "$manifest" | sed -n 's/^    apisix-etcd\\/claim: //p')
    [ "$claim" = "$label" ] && [ ! -e "$FAKE_K8S/snapshots/$name" ] || exit 1
    echo "$claim" > "$FAKE_K8S/snapshots/$name" ;;
  "wait --for=jsonpath={.status.readyToUse}=true")
    [ ! -e "$FAKE_K8S/never-ready" ] && [ -e "$FAKE_K8S/snapshots/\${4#volumesnapshot/}" ] || { echo "timed out" >&2; exit 1; } ;;
  "get volumesnapshots")
    [ "$3" = --selector ] || exit 1
    for file in $(ls "$FAKE_K8S/snapshots" | sort -R); do
      [ "apisix-etcd/claim=$(cat "$FAKE_K8S/snapshots/$file")" = "$4" ] && echo "volumesnapshot.snapshot.storage.k8s.io/$file"
    done; true ;;
  "get volumesnapshot.snapshot.storage.k8s.io/"*) echo "snapcontent-\${2#*/}" ;;
  "patch volumesnapshotcontent") echo "$3 $7" >> "$FAKE_K8S/patched" ;;
  "delete volumesnapshot.snapshot.storage.k8s.io/"*) rm "$FAKE_K8S/snapshots/\${2#*/}" ;;
  *) echo "fake kubectl: unexpected: $*" >&2; exit 2 ;;
esac
`;

const CLAIMS = ["data-apisix-etcd-0", "data-apisix-etcd-1", "data-apisix-etcd-2"];
let state: string;

function run(keep: number) {
    const bin = path.join(state, "bin");
    return spawnSync("sh", ["-c", VOLUME_SNAPSHOT_SCRIPT], {
        encoding: "utf8",
        env: {
            PATH: `${bin}:${process.env.PATH}`,
            FAKE_K8S: state,
            NAMESPACE: "etcd",
            CLAIMS: CLAIMS.join(" "),
            CLAIM_LABEL: "apisix-etcd/claim",
            SNAPSHOT_CLASS: "apisix-etcd-pd",
            KEEP: String(keep),
            READY_TIMEOUT: "20m",
        },
    });
}

const snapshots = () => fs.readdirSync(path.join(state, "snapshots")).sort();
const snapshotsOf = (claim: string) => snapshots().filter((name) => name.startsWith(`${claim}-`));
const patched = () => (fs.existsSync(path.join(state, "patched")) ? fs.readFileSync(path.join(state, "patched"), "utf8").trim().split("\n") : []);

beforeEach(() => {
    state = fs.mkdtempSync(path.join(os.tmpdir(), "volume-snapshot-script-"));
    for (const dir of ["bin", "claims", "snapshots"]) fs.mkdirSync(path.join(state, dir));
    fs.writeFileSync(path.join(state, "bin", "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
    for (const claim of CLAIMS) fs.writeFileSync(path.join(state, "claims", claim), "");
    // Three earlier runs.
    for (const stamp of ["20240101024300", "20240102024300", "20240103024300"]) {
        for (const claim of CLAIMS) fs.writeFileSync(path.join(state, "snapshots", `${claim}-${stamp}`), `${claim}\n`);
    }
});

afterEach(() => fs.rmSync(state, { recursive: true, force: true }));

test("takes one snapshot of every claim, named after the claim and the UTC time", () => {
    const before = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    const result = run(10);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    for (const claim of CLAIMS) {
        const newest = snapshotsOf(claim).pop()!;
        expect(newest).toMatch(new RegExp(`^${claim}-\\d{14}$`));
        expect(newest.slice(-14) >= before).toBe(true);
        expect(snapshotsOf(claim)).toHaveLength(4);
    }
    expect(patched()).toEqual([]);
});

test("keeps the newest `keep` of each claim, releasing each pruned snapshot's retained content first", () => {
    expect(run(2).status).toBe(0);
    for (const claim of CLAIMS) {
        expect(snapshotsOf(claim).map((name) => name.slice(-14))).toEqual(["20240103024300", expect.not.stringMatching(/^2024/)]);
    }
    const pruned = CLAIMS.flatMap((claim) => [`${claim}-20240101024300`, `${claim}-20240102024300`]);
    expect(patched().sort()).toEqual(pruned.map((name) => `snapcontent-${name} {"spec":{"deletionPolicy":"Delete"}}`).sort());
    const log = fs.readFileSync(path.join(state, "log"), "utf8");
    for (const name of pruned) {
        expect(log.indexOf(`patch volumesnapshotcontent snapcontent-${name}`)).toBeLessThan(log.indexOf(`delete volumesnapshot.snapshot.storage.k8s.io/${name}`));
    }
});

test("prunes nothing when a new snapshot does not become ready, and fails", () => {
    fs.writeFileSync(path.join(state, "never-ready"), "");
    const result = run(1);
    expect(result.status).not.toBe(0);
    for (const claim of CLAIMS) expect(snapshotsOf(claim).filter((name) => name.includes("-2024"))).toHaveLength(3);
    expect(patched()).toEqual([]);
});

test("takes no snapshot at all when a member's claim is missing, and fails saying which", () => {
    fs.rmSync(path.join(state, "claims", CLAIMS[1]));
    const result = run(1);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`"${CLAIMS[1]}" not found`);
    expect(snapshots()).toHaveLength(9);
});
