// What each image of the stack holds, as local programs bind-mounted at the image's paths in an
// otherwise empty root: a container that calls a program its image lacks fails ("not found"), as
// it would on a node. Shared libraries come from the machine's /usr/lib (read-only), with Debian
// testing's C library and jq's libraries laid over it (container-root.ts).
import { accessSync, constants } from "node:fs";
import * as path from "node:path";
import { KUBECTL_PROGRAM } from "./kubernetes-api-stand-in";

export interface ImageContents {
    /** Path in the image -> the local program standing in for it. */
    programs: Record<string, string>;
    /** The image's own environment (PATH). */
    env: Record<string, string>;
    /** Where the image's CA bundle lies (curl's and OpenSSL's default), if it has one. */
    caBundlePath?: string;
    /** Directories the image has (created in the root). */
    directories: string[];
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The programs that come from Debian's packages (scripts/install-debian-tools.sh): etcd's three, and jq
 * 1.8 (Alpine's line; the machine's own may be older).
 */
export interface DebianPrograms {
    etcd: string;
    etcdctl: string;
    etcdutl: string;
    jq: string;
}

/** A program of the machine's PATH; undefined when the machine lacks it. */
function local(name: string): string | undefined {
    for (const dir of ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"]) {
        const file = path.join(dir, name);
        try {
            accessSync(file, constants.X_OK);
            return file;
        } catch {
            // not there
        }
    }
    return undefined;
}

/** `names` at `dir` in the image, each standing in by the local program of that name (the shells too). */
function programsAt(dir: string, names: readonly string[], standIn: (name: string) => string | undefined = local): Record<string, string> {
    const programs: Record<string, string> = {};
    for (const name of names) {
        const file = standIn(name);
        if (file === undefined) throw new Error(`the pod sandbox needs the program ${name} on this machine (it stands in for the image's ${dir}/${name})`);
        programs[path.posix.join(dir, name)] = file;
    }
    return programs;
}

// BusyBox applets of Alpine that the stack's scripts may use; alpine/k8s adds bash, curl, jq,
// openssl, kubectl and helm (kubectl: the calls the stack makes, through the sandbox's API stand-in,
// kubernetes-api-stand-in.ts; helm has no stand-in).
const BUSYBOX_BIN = ["cat", "chmod", "cp", "date", "echo", "grep", "ls", "mkdir", "mktemp", "mv", "rm", "rmdir", "sed", "sleep", "touch", "true", "false", "gzip", "tar", "base64"];
const BUSYBOX_USR_BIN = ["awk", "basename", "cut", "dirname", "env", "expr", "find", "head", "od", "printf", "seq", "sha256sum", "sort", "stat", "tail", "tee", "test", "tr", "uniq", "wc", "xargs"];
// Debian's coreutils and friends in the Cloud SDK's slim image, next to bash and python.
const DEBIAN_BIN = [...new Set([...BUSYBOX_BIN, ...BUSYBOX_USR_BIN])];

/**
 * The contents of `image` (a rendered `image:`), keyed by repository; throws for an image the
 * sandbox has no stand-in for, naming it.
 */
export function imageContents(image: string, debian: DebianPrograms): ImageContents {
    const repository = image.replace(/@sha256:.*$/, "").replace(/:[^/:]+$/, "");
    switch (repository) {
        case "gcr.io/etcd-development/etcd":
            // distroless-based: the three binaries, no shell, a CA bundle.
            return {
                programs: { "/usr/local/bin/etcd": debian.etcd, "/usr/local/bin/etcdctl": debian.etcdctl, "/usr/local/bin/etcdutl": debian.etcdutl },
                env: { PATH: DEFAULT_PATH },
                caBundlePath: "/etc/ssl/certs/ca-certificates.crt",
                directories: ["/tmp", "/var"],
            };
        case "alpine/k8s":
            return {
                programs: {
                    "/bin/sh": local("dash")!,
                    ...programsAt("/bin", BUSYBOX_BIN),
                    ...programsAt("/usr/bin", BUSYBOX_USR_BIN),
                    ...programsAt("/bin", ["bash"]),
                    ...programsAt("/usr/bin", ["curl", "openssl"]),
                    "/usr/bin/jq": debian.jq,
                    "/usr/bin/kubectl": KUBECTL_PROGRAM,
                },
                env: { PATH: DEFAULT_PATH },
                caBundlePath: "/etc/ssl/certs/ca-certificates.crt",
                directories: ["/tmp", "/root", "/home", "/var"],
            };
        case "gcr.io/google.com/cloudsdktool/google-cloud-cli":
            return {
                programs: { ...programsAt("/bin", ["sh", "bash"]), ...programsAt("/usr/bin", [...DEBIAN_BIN, "curl", "python3"]) },
                env: { PATH: `/google-cloud-sdk/bin:${DEFAULT_PATH}` },
                caBundlePath: "/etc/ssl/certs/ca-certificates.crt",
                directories: ["/tmp", "/root", "/home", "/var"],
            };
        case "docker.io/bitnami/etcd":
            // The Bitnami image the stack replaces (docs/migration.md), for the migration test only: its etcd
            // binaries at /opt/bitnami/etcd/bin. Its entrypoint and health check scripts (bash) have no stand-in:
            // a pod of it must run etcd itself.
            return {
                programs: { "/opt/bitnami/etcd/bin/etcd": debian.etcd, "/opt/bitnami/etcd/bin/etcdctl": debian.etcdctl, "/opt/bitnami/etcd/bin/etcdutl": debian.etcdutl },
                env: { PATH: `/opt/bitnami/etcd/bin:${DEFAULT_PATH}` },
                caBundlePath: "/etc/ssl/certs/ca-certificates.crt",
                directories: ["/tmp", "/bitnami", "/opt/bitnami/etcd/conf"],
            };
        default:
            throw new Error(`image ${image}: the pod sandbox has no stand-in for it (known: the etcd image, alpine/k8s, the Cloud SDK image, Bitnami's etcd image)`);
    }
}
