// The argv that starts one container: in its pod's network namespace (`ip netns exec`, which also
// gives it a private mount namespace), a root of its own on a tmpfs holding only the image's programs
// (bind-mounted, read-only), the machine's shared libraries under Debian testing's C library and jq's
// libraries (a read-only overlay: glibc runs the machine's older programs too), /dev, /proc, the pod's
// /etc/hosts and the volumes at their mountPaths; with readOnlyRootFilesystem the root is remounted
// read-only (the volumes stay as mounted). The whole chain starts with exactly the container's variables as
// its environment (never as arguments, which any user of the machine can read): the set-up script (bash,
// which keeps names sh cannot set) drops what bash adds, and `chroot --userspec --groups` runs the command as
// the pod's user, group and supplementary groups.
// Every process of the container inherits these namespaces; the first pid is the command's own.
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ImageContents } from "./image-contents";

export interface ContainerMount {
    /** Directory (or file) on the machine. */
    source: string;
    /** mountPath in the container. */
    target: string;
    readOnly: boolean;
}

export interface ContainerRoot {
    /** `ip netns` name of the pod. */
    netns: string;
    /** An empty directory of the machine that becomes the container's root. */
    rootDir: string;
    image: ImageContents;
    /** Directory in the image -> a directory of the machine holding its programs (imageDirectories). */
    programDirs: Readonly<Record<string, string>>;
    mounts: readonly ContainerMount[];
    /** The pod's hosts file (kept current by the sandbox), mounted at /etc/hosts. */
    hostsFile: string;
    /** The pod's /etc files (passwd, group, nsswitch.conf, resolv.conf, hostname). */
    etcFiles: Readonly<Record<string, string>>;
    /** Mounted at the image's CA bundle path when given (what the pod's curl trusts). */
    caBundle?: string;
    /** Laid over the machine's /usr/lib and /usr/lib64 (scripts/install-debian-tools.sh unpacks them). */
    libraries: { usrLib: string; usrLib64: string };
    readOnlyRootFilesystem: boolean;
    uid: number;
    gid: number;
    groups: readonly number[];
    argv: readonly string[];
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** iproute2's ip by its path: the launch chain runs with the container's PATH, not the machine's. */
const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((candidate) => existsSync(candidate)) ?? "ip";

/** What bash itself sets in its environment, dropped before the command starts. */
const SHELL_VARIABLES = ["PWD", "OLDPWD", "SHLVL", "_"];

/** One line of a mount table (fstab(5)): whitespace and backslashes in a field written as octal escapes. */
function tableLine(source: string, target: string, type: string, options: string): string {
    const field = (text: string): string => text.replace(/[\\\s]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
    return [source, target, type, options].map(field).join(" ") + " 0 0";
}

/** `upper` over `lower` at `target`: an overlay without an upper dir, which is read-only. */
function overlayReadOnly(upper: string, lower: string, target: string): string {
    // The option string separates dirs with ':' and options with ',': a path holding either would be misread.
    if (/[:,]/.test(upper)) throw new Error(`cannot lay ${upper} over ${lower}: the path holds ':' or ','`);
    return tableLine("container-lib", target, "overlay", `lowerdir=${upper}:${lower}`);
}

const bindOptions = (readOnly: boolean): string => (readOnly ? "bind,ro" : "bind");

/** A bind mount of `source` at `target`, read-only or not, as a table line. */
const bind = (source: string, target: string, readOnly: boolean): string => tableLine(source, target, "none", bindOptions(readOnly));

/**
 * The image's programs as copies in one directory per image directory, under `dir` (once per image
 * and sandbox): image directory -> machine directory, for `programDirs`.
 */
export function imageDirectories(dir: string, image: ImageContents): Record<string, string> {
    const dirs: Record<string, string> = {};
    for (const [target, program] of Object.entries(image.programs)) {
        const source = path.join(dir, path.posix.dirname(target));
        dirs[path.posix.dirname(target)] = source;
        mkdirSync(source, { recursive: true });
        const copy = path.join(source, path.posix.basename(target));
        if (!existsSync(copy)) copyFileSync(program, copy);
    }
    return dirs;
}

/** While this file beside a container's root exists, the container's command waits to start. */
export const holdFile = (rootDir: string): string => `${rootDir}.hold`;

/**
 * Writes the set-up script (and its mount table) beside the root and returns the argv that runs the
 * container (for nsenter into the sandbox).
 */
export function containerArgv(root: ContainerRoot): string[] {
    const r = (p: string): string => path.posix.join(root.rootDir, p);
    const list = (paths: readonly string[]): string => paths.map((p) => quote(r(p))).join(" ");
    if (root.caBundle && !root.image.caBundlePath) throw new Error("the image has no CA bundle path to mount the sandbox's CA at");
    const caBundlePath = root.caBundle ? root.image.caBundlePath : undefined;
    const table = [
        overlayReadOnly(root.libraries.usrLib, "/usr/lib", r("/usr/lib")),
        overlayReadOnly(root.libraries.usrLib64, "/usr/lib64", r("/usr/lib64")),
        tableLine("/dev", r("/dev"), "none", "rbind"),
        tableLine("proc", r("/proc"), "proc", "defaults"),
        bind(root.hostsFile, r("/etc/hosts"), true),
        // Each program directory of the image at once (prepared by imageDirectories): a mount per program costs ~20 ms here.
        ...Object.entries(root.programDirs).map(([dir, source]) => bind(source, r(dir), true)),
        ...(root.caBundle && caBundlePath ? [bind(root.caBundle, r(caBundlePath), true)] : []),
    ];
    const mounted = ["/usr/lib", "/usr/lib64", "/dev", "/proc", ...Object.keys(root.programDirs)];
    // A volume's mount point is made with the root's directories, unless it lies inside another mount
    // (parents first: a volume inside another volume's mountPath lands on top of it); those follow the table, one by one.
    const nested: string[] = [];
    const volumeDirs: string[] = [];
    const volumeFiles: string[] = [];
    for (const mount of [...root.mounts].sort((a, b) => a.target.length - b.target.length)) {
        if (!path.posix.isAbsolute(mount.target)) throw new Error(`mountPath ${mount.target} is not absolute`);
        const target = r(mount.target);
        const isDir = statSync(mount.source, { throwIfNoEntry: false })?.isDirectory() ?? false;
        if (mounted.some((parent) => mount.target.startsWith(`${parent}/`))) {
            nested.push(isDir ? `mkdir -p ${quote(target)}` : `mkdir -p ${quote(path.posix.dirname(target))}; : > ${quote(target)}`);
            nested.push(`mount -o ${bindOptions(mount.readOnly)} ${quote(mount.source)} ${quote(target)}`);
        } else {
            (isDir ? volumeDirs : volumeFiles).push(mount.target);
            table.push(bind(mount.source, target, mount.readOnly));
        }
        mounted.push(mount.target);
    }
    // Every directory and mount point the image has, made at once (a command each cost ~2 ms of CPU per container start).
    const imageDirs = root.image.directories.filter((dir) => dir !== "/tmp");
    const dirs = [
        "/etc", "/dev", "/proc", "/usr/lib", "/usr/lib64",
        ...root.image.directories, ...Object.keys(root.programDirs), ...(caBundlePath ? [path.posix.dirname(caBundlePath)] : []),
        ...volumeDirs, ...volumeFiles.map((file) => path.posix.dirname(file)),
    ];
    const tableFile = `${root.rootDir}.fstab`;
    writeFileSync(tableFile, `${table.join("\n")}\n`, { mode: 0o600 });
    mkdirSync(root.rootDir, { recursive: true });
    const lines = [
        "set -eu",
        // The environment is the container's own: the set-up's tools from the machine's path, the
        // container's PATH (or none) back before the command starts.
        '__sandbox_path=${PATH-}; __sandbox_path_set=${PATH+set}; PATH=/usr/sbin:/usr/bin:/sbin:/bin',
        `mount -t tmpfs -o mode=0755 container-root ${quote(root.rootDir)}`,
        `cd ${quote(root.rootDir)}`,
        `mkdir -p ${list([...new Set(dirs)])}`,
        ...(imageDirs.length > 0 ? [`chmod 0755 ${list(imageDirs)}`] : []),
        ...(root.image.directories.includes("/tmp") ? [`chmod 1777 ${list(["/tmp"])}`] : []),
        "ln -s usr/lib usr/lib64 .",
        ...Object.entries(root.etcFiles).map(([name, content]) => `printf '%s' ${quote(content)} > ${quote(r(`/etc/${name}`))}`),
        ...[r("/etc/hosts"), ...(caBundlePath ? [r(caBundlePath)] : []), ...volumeFiles.map(r)].map((file) => `: > ${quote(file)}`),
        // Every mount point exists: the table's mounts in one command, in its order (a command each cost ~2 ms of CPU).
        `mount --all --fstab ${quote(tableFile)}`,
        ...nested,
    ];
    if (root.readOnlyRootFilesystem) lines.push(`mount -o remount,ro ${quote(root.rootDir)}`);
    // A test that must see the command from its first instruction (a tracer) holds the start (holdFile),
    // bounded at 60 s.
    const hold = quote(holdFile(root.rootDir));
    lines.push(`i=0; while [ -e ${hold} ]; do [ $i -lt 600 ] || { echo "container held for 60 s" >&2; exit 1; }; i=$((i + 1)); sleep 0.1; done`);
    lines.push('if [ -n "$__sandbox_path_set" ]; then PATH=$__sandbox_path; else unset PATH; fi', 'exec "$@"');
    const script = `${root.rootDir}.sh`;
    writeFileSync(script, `${lines.join("\n")}\n`, { mode: 0o700 });
    return [
        IP, "netns", "exec", root.netns,
        "/bin/bash", script,
        "/usr/bin/env", ...SHELL_VARIABLES.flatMap((name) => ["-u", name]),
        "/usr/sbin/chroot", `--userspec=${root.uid}:${root.gid}`, `--groups=${[...new Set([root.gid, ...root.groups])].join(",")}`, root.rootDir,
        ...root.argv,
    ];
}
