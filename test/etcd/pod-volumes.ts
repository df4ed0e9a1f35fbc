// Local stand-ins for a pod's volumes, shared by the member mapping (rendered-members.ts) and the
// job steps (test/backup/pod-steps.ts): a mount path in rendered text -> a local folder, and a
// `secret` volume projected into a folder the way the kubelet projects it.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";

/** Secret name -> a local folder holding one file per key of the Secret (what its data would hold). */
export type SecretStandIns = Readonly<Record<string, string>>;

/** The part of a pod's `volumes[]` entry read here. */
export interface PodVolume {
  name: string;
  secret?: {
    secretName?: string;
    items?: { key: string; path: string; mode?: number }[];
    defaultMode?: number;
  };
  [source: string]: unknown;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Replaces each mount path (as a whole path, or the start of one) in `text` by its local folder, in
 * one pass: a local folder may itself lie under a mount path (/tmp), and must not be mapped again.
 */
export function localizePaths(text: string, mounts: ReadonlyMap<string, string>): string {
  if (mounts.size === 0) return text;
  const byLength = [...mounts.keys()].map((p) => p.replace(/\/+$/, "")).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(?<![\\w./-])(${byLength.map(escapeRegExp).join("|")})(?=/|$|[^\\w.-])`, "g");
  const local = new Map([...mounts].map(([mountPath, dir]) => [mountPath.replace(/\/+$/, ""), dir]));
  return text.replace(pattern, (mountPath) => local.get(mountPath)!);
}

// The kubelet's default file mode for a projected key.
const DEFAULT_MODE = 0o644;

/**
 * Projects `volume` (a `secret` volume) into `target`, replacing what was there, as the kubelet does:
 * with `items`, each listed key to its `path` with its mode; without, every key of the Secret under its
 * own name. Throws, naming the volume and Secret, when the Secret has no stand-in or lacks a listed key.
 * Returns `target`.
 */
export function projectSecretVolume(volume: PodVolume, secrets: SecretStandIns, target: string): string {
  const secretName = volume.secret?.secretName;
  if (secretName === undefined) throw new Error(`volume "${volume.name}" is not a secret volume`);
  const source = secrets[secretName];
  if (source === undefined) throw new Error(`volume "${volume.name}" (Secret ${secretName}) has no local stand-in`);
  const mode = volume.secret?.defaultMode ?? DEFAULT_MODE;
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const items: { key: string; path: string; mode?: number }[] = volume.secret?.items ?? readdirSync(source).map((key) => ({ key, path: key }));
  for (const item of items) {
    const from = path.join(source, item.key);
    if (!existsSync(from)) throw new Error(`volume "${volume.name}": the stand-in of Secret ${secretName} has no key ${item.key}`);
    const to = path.join(target, item.path);
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(from, to);
    chmodSync(to, item.mode ?? mode);
  }
  return target;
}

/** Every secret volume of a pod projected into `<root>/<volume>`: volume name -> folder, for pod-steps' `volumes`. */
export function secretVolumeDirs(volumes: readonly PodVolume[], secrets: SecretStandIns, root: string): Record<string, string> {
  return Object.fromEntries(
    volumes.filter((volume) => volume.secret !== undefined).map((volume) => [volume.name, projectSecretVolume(volume, secrets, path.join(root, volume.name))]),
  );
}
