// Locates the etcd/etcdctl/etcdutl and promtool binaries for tests: an explicit
// env override, else the cache filled by scripts/install-debian-tools.sh (which
// is run, at most once per process, when the cache is missing); and, from that
// cache only, the jq and C library the pod sandbox's images run.
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import * as path from "node:path";

export interface EtcdBinaries {
  etcd: string;
  etcdctl: string;
  etcdutl: string;
  binDir: string;
}

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const INSTALL_SCRIPT = path.join(REPO_ROOT, "scripts", "install-debian-tools.sh");
const INSTALL_TIMEOUT_MS = 10 * 60_000;

// Same default as the install script (TOOLS_CACHE overrides the cache root there too).
function cacheUsrDir(): string {
  const cacheRoot = process.env.TOOLS_CACHE || path.join(REPO_ROOT, ".cache", "debian-tools");
  return path.join(cacheRoot, "root", "usr");
}

const cacheBinDir = (): string => path.join(cacheUsrDir(), "bin");

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missingIn(binDir: string, names: string[]): string[] {
  return names.filter((name) => !isExecutable(path.join(binDir, name)));
}

let installAttempted = false;
let installError: Error | undefined;

function runInstallScriptOnce(): void {
  if (installError) throw installError;
  if (installAttempted) return;
  installAttempted = true;
  try {
    execFileSync("bash", [INSTALL_SCRIPT], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: INSTALL_TIMEOUT_MS,
      encoding: "utf8",
    });
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim().split("\n").slice(-30).join("\n");
    installError = new Error(`${INSTALL_SCRIPT} failed: ${e.message}\n${output}`);
    throw installError;
  }
}

/** The install script's bin dir, with `names` in it (running the script on first miss); throws if any is still missing. */
function cachedBinDir(names: string[], otherwise: string): string {
  const binDir = cacheBinDir();
  if (missingIn(binDir, names).length > 0) runInstallScriptOnce();
  const missing = missingIn(binDir, names);
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(", ")} in ${binDir} even after running ${INSTALL_SCRIPT}; run it by hand to see why${otherwise}`);
  }
  return binDir;
}

/**
 * Resolves `names` inside the dir named by env var `overrideVar`, or else the
 * install-script cache (installing on first miss). Throws if any is missing.
 */
function resolveBinDir(overrideVar: string, names: string[]): string {
  const override = process.env[overrideVar];
  if (override) {
    const missing = missingIn(override, names);
    if (missing.length > 0) {
      throw new Error(`${overrideVar}=${override} lacks executable(s): ${missing.join(", ")}`);
    }
    return override;
  }
  return cachedBinDir(names, `, or set ${overrideVar} to a dir that has them`);
}

/** etcd 3.5 binaries: $ETCD_BIN_DIR if set, else the install script's cache (Debian testing). */
export async function etcdBinaries(): Promise<EtcdBinaries> {
  const binDir = resolveBinDir("ETCD_BIN_DIR", ["etcd", "etcdctl", "etcdutl"]);
  return {
    etcd: path.join(binDir, "etcd"),
    etcdctl: path.join(binDir, "etcdctl"),
    etcdutl: path.join(binDir, "etcdutl"),
    binDir,
  };
}

/** Path of promtool: $PROMTOOL_BIN_DIR/promtool if set, else the install script's cache (Debian trixie). */
export async function promtoolBinary(): Promise<string> {
  return path.join(resolveBinDir("PROMTOOL_BIN_DIR", ["promtool"]), "promtool");
}

/** Debian's jq and the C library it is built for, as the install script unpacked them (Debian testing). */
export interface DebianUserland {
  jq: string;
  /** The unpacked usr/lib and usr/lib64: glibc, libjq and libonig, newer than the machine's. */
  usrLib: string;
  usrLib64: string;
}

/** The install script's jq and C library (installing them on first miss). */
export async function debianUserland(): Promise<DebianUserland> {
  const usr = path.dirname(cachedBinDir(["jq", path.join("..", "lib64", "ld-linux-x86-64.so.2")], ""));
  return { jq: path.join(usr, "bin", "jq"), usrLib: path.join(usr, "lib"), usrLib64: path.join(usr, "lib64") };
}
