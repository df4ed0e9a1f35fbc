// A pod's volumes as the kubelet prepares them before the containers start: a Secret or ConfigMap
// volume projected with its items, paths and modes (defaultMode, else 0644), an emptyDir, a claim's
// directory; each group-owned by the pod's fsGroup (directories setgid and group-writable, as the
// kubelet's SetVolumeOwnership leaves them). A claim's files are changed as the kubelet changes them
// (pkg/volume/volume_linux.go): each file and directory below it, recursively, gets the fsGroup, and the
// group's rw (directories also x and setgid) added to its mode; with fsGroupChangePolicy OnRootMismatch
// only when its root lacks them, with Always (the default) at every start of a pod.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { KeyValueObjects } from "./container-environment";
import type { KeyToPath, VolumeSpec } from "./pod-manifest";

const DEFAULT_FILE_MODE = 0o644;

/** Where each of the pod's volumes lies on the machine. */
export type VolumeDirs = ReadonlyMap<string, string>;

export interface VolumeSources {
    secrets: KeyValueObjects;
    configMaps: KeyValueObjects;
    /** The directory of a claim (made if missing): the sandbox's PersistentVolume of `claimName`. */
    claimDir(claimName: string): string;
}

function groupOwn(file: string, fsGroup: number | undefined, mode: number): void {
    if (fsGroup !== undefined) chownSync(file, 0, fsGroup);
    chmodSync(file, mode);
}

/** The kubelet's ownership change of a claim: fsGroup and the group's rw (directories: x, setgid) added to `file` and all below it. */
function changeOwnership(file: string, fsGroup: number): void {
    const info = lstatSync(file);
    chownSync(file, info.uid, fsGroup);
    if (info.isSymbolicLink()) return;
    chmodSync(file, (info.mode & 0o7777) | 0o660 | (info.isDirectory() ? 0o2110 : 0));
    if (info.isDirectory()) for (const name of readdirSync(file)) changeOwnership(path.join(file, name), fsGroup);
}

/** Whether the claim's root already has fsGroup, the group's rwx and setgid (OnRootMismatch then changes nothing). */
function rootMatches(dir: string, fsGroup: number): boolean {
    const info = statSync(dir);
    return info.gid === fsGroup && (info.mode & 0o770) === 0o770 && (info.mode & 0o2000) !== 0;
}

function project(dir: string, volume: VolumeSpec, kind: string, data: Readonly<Record<string, string | Buffer>>, source: { items?: KeyToPath[]; defaultMode?: number }, fsGroup?: number): void {
    mkdirSync(dir, { recursive: true });
    const items: KeyToPath[] = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
        if (data[item.key] === undefined) throw new Error(`volume ${volume.name}: ${kind} has no key ${item.key}`);
        if (path.isAbsolute(item.path) || item.path.split("/").includes("..")) throw new Error(`volume ${volume.name}: item path ${item.path} must be relative`);
        const file = path.join(dir, item.path);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, data[item.key]);
        groupOwn(file, fsGroup, item.mode ?? source.defaultMode ?? DEFAULT_FILE_MODE);
    }
    groupOwn(dir, fsGroup, 0o755);
}

/** Prepares every volume of the pod under `podDir/volumes`; returns volume name -> directory. */
export function prepareVolumes(podDir: string, volumes: readonly VolumeSpec[], sources: VolumeSources, fsGroup: number | undefined, fsGroupChangePolicy?: string): VolumeDirs {
    const dirs = new Map<string, string>();
    for (const volume of volumes) {
        const dir = path.join(podDir, "volumes", volume.name);
        if (volume.secret) {
            const data = sources.secrets.get(volume.secret.secretName);
            if (!data) {
                if (!volume.secret.optional) throw new Error(`volume ${volume.name}: Secret ${volume.secret.secretName} does not exist (the pod would stay ContainerCreating)`);
                mkdirSync(dir, { recursive: true });
            } else project(dir, volume, `Secret ${volume.secret.secretName}`, data, volume.secret, fsGroup);
        } else if (volume.configMap) {
            const data = sources.configMaps.get(volume.configMap.name);
            if (!data) {
                if (!volume.configMap.optional) throw new Error(`volume ${volume.name}: ConfigMap ${volume.configMap.name} does not exist`);
                mkdirSync(dir, { recursive: true });
            } else project(dir, volume, `ConfigMap ${volume.configMap.name}`, data, volume.configMap, fsGroup);
        } else if (volume.emptyDir) {
            if (volume.emptyDir.medium && volume.emptyDir.medium !== "") throw new Error(`volume ${volume.name}: emptyDir medium ${volume.emptyDir.medium} is not supported by the pod sandbox`);
            mkdirSync(dir, { recursive: true });
            groupOwn(dir, fsGroup, fsGroup === undefined ? 0o777 : 0o2777);
        } else if (volume.persistentVolumeClaim) {
            const claim = sources.claimDir(volume.persistentVolumeClaim.claimName);
            if (fsGroup !== undefined && !(fsGroupChangePolicy === "OnRootMismatch" && rootMatches(claim, fsGroup))) changeOwnership(claim, fsGroup);
            dirs.set(volume.name, claim);
            continue;
        } else {
            const kinds = Object.keys(volume).filter((key) => key !== "name");
            throw new Error(`volume ${volume.name}: ${kinds.join(", ")} volumes are not supported by the pod sandbox`);
        }
        dirs.set(volume.name, dir);
    }
    return dirs;
}

/** Makes the directory of a claim (a fresh volume: root's, 0755) unless it exists; returns it. */
export function claimDirectory(claimsDir: string, claimName: string): string {
    const dir = path.join(claimsDir, claimName);
    if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o755);
    }
    return dir;
}
