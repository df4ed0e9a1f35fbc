/**
 * GCS on a machine without it: buckets are folders under a root folder (`gs://<bucket>/<object>` is
 * `<root>/<bucket>/<object>`), served to a step by gcs-stand-in.ts, which refuses what GCS refuses
 * the step's identity. A step runs inside the stand-in (`gcsStep`), found on PATH as `gcs-stand-in`
 * once `installGcsStandIn` put it into a folder the step's PATH starts with.
 */
import * as fs from "fs";
import * as path from "path";

/** The command the steps run inside; `installGcsStandIn` writes it. */
export const GCS_STAND_IN = "gcs-stand-in";

/** Writes `<binDir>/gcs-stand-in`, which serves the buckets under `bucketsRoot` (created) to the command it runs. */
export function installGcsStandIn(binDir: string, bucketsRoot: string): string {
    fs.mkdirSync(binDir, { recursive: true });
    fs.mkdirSync(bucketsRoot, { recursive: true });
    const launcher = path.join(binDir, GCS_STAND_IN);
    const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, "-r", path.join(__dirname, "..", "..", "plan", "typescript-loader.js"), path.join(__dirname, "gcs-stand-in.ts"), "--root", path.resolve(bucketsRoot)];
    fs.writeFileSync(launcher, `#!/bin/sh\nexec ${command.map(quote).join(" ")} "$@"\n`, { mode: 0o755 });
    return launcher;
}

/** A bucket: GCS refuses uploads to one that does not exist. */
export function createBucket(bucketsRoot: string, bucket: string): void {
    fs.mkdirSync(path.join(bucketsRoot, bucket), { recursive: true });
}

/**
 * The role the stack grants on a bucket to the Google identity that a Kubernetes ServiceAccount acts
 * as (its Workload Identity annotation, and the BucketIAMMember of that e-mail), so that the stand-in
 * enforces what the stack declares.
 */
export function grantedRole(
    resources: readonly { type: string; inputs: Record<string, any> }[],
    manifests: readonly { kind: string; metadata: { name?: string; [key: string]: unknown } }[],
    serviceAccountName: string,
): string {
    const account = manifests.find((m) => m.kind === "ServiceAccount" && m.metadata.name === serviceAccountName);
    const email = (account?.metadata.annotations as Record<string, string> | undefined)?.["iam.gke.io/gcp-service-account"];
    const grants = resources.filter((r) => r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && r.inputs.member === `serviceAccount:${email}`);
    if (email === undefined || grants.length !== 1) {
        throw new Error(`expected one bucket role for ServiceAccount ${serviceAccountName} (Google identity ${email}), found ${grants.length}`);
    }
    return grants[0].inputs.role;
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
