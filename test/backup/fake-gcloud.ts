/**
 * A stand-in for `gcloud storage cp` on a machine without GCS: a folder per bucket under a root
 * folder, `gs://<bucket>/<object>` being `<root>/<bucket>/<object>`. A copy appears whole or not at
 * all (written beside, then renamed), as a GCS object does. Any other gcloud use fails loudly.
 */
import * as fs from "fs";
import * as path from "path";

/** Writes an executable `gcloud` into `binDir` serving buckets under `bucketsRoot`; returns its path. */
export function installFakeGcloud(binDir: string, bucketsRoot: string): string {
    fs.mkdirSync(binDir, { recursive: true });
    fs.mkdirSync(bucketsRoot, { recursive: true });
    const script = `#!/bin/sh
set -eu
if [ "$#" -ne 4 ] || [ "$1 $2" != "storage cp" ]; then
  echo "fake gcloud: only 'gcloud storage cp <from> <to>' is served, got: $*" >&2
  exit 2
fi
local_path() {
  case "$1" in
    gs://*) echo "${bucketsRoot}/\${1#gs://}" ;;
    *) echo "$1" ;;
  esac
}
from=$(local_path "$3")
to=$(local_path "$4")
[ -f "$from" ] || { echo "fake gcloud: $3 not found" >&2; exit 1; }
mkdir -p "$(dirname "$to")"
cp "$from" "$to.partial"
mv "$to.partial" "$to"
`;
    const file = path.join(binDir, "gcloud");
    fs.writeFileSync(file, script, { mode: 0o755 });
    return file;
}

/** Every object under the buckets' root, as `gs://` URLs, sorted. */
export function listObjects(bucketsRoot: string): string[] {
    const walk = (dir: string): string[] =>
        fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));
    return fs.existsSync(bucketsRoot) ? walk(bucketsRoot).map((file) => `gs://${path.relative(bucketsRoot, file)}`).sort() : [];
}

/** The local file standing for `gs://<bucket>/<object>`. */
export function objectPath(bucketsRoot: string, url: string): string {
    if (!url.startsWith("gs://")) throw new Error(`not a gs:// URL: ${url}`);
    return path.join(bucketsRoot, url.slice("gs://".length));
}
