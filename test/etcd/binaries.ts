// Locates the etcd/etcdctl/etcdutl and promtool binaries for tests: an explicit
// env override, else the cache filled by scripts/install-debian-tools.sh (which
// is run, at most once per process, when the cache is missing).
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
function cacheBinDir(): string {
  const cacheRoot = process.env.TOOLS_CACHE || path.join(REPO_ROOT, ".cache", "debian-tools");
  return path.join(cacheRoot, "root", "usr", "bin");
}

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
  const binDir = cacheBinDir();
  if (missingIn(binDir, names).length > 0) runInstallScriptOnce();
  const missing = missingIn(binDir, names);
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(", ")} in ${binDir} even after running ${INSTALL_SCRIPT}; ` +
        `run it by hand to see why, or set ${overrideVar} to a dir that has them`,
    );
  }
  return binDir;
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
