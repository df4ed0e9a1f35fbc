/**
 * The installer's decisions that need no network: which cached tools it accepts, and that it names no
 * archive of its own. Each run sees an empty `/etc/apt` (a tmpfs in a private mount namespace), as on a
 * machine whose apt sources are not Debian's, so nothing here can reach an archive.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const SCRIPT = path.join(__dirname, "install-debian-tools.sh");

let cache: string;
beforeEach(() => {
    cache = mkdtempSync(path.join(os.tmpdir(), "install-debian-tools-"));
});
afterEach(() => rmSync(cache, { recursive: true, force: true }));

/**
 * Fake tools in the cache's bin dir that report the given versions, and a fake dynamic loader beside them
 * that runs its program (the installer starts jq through the cache's own loader).
 */
function cachedTools(etcdPatch: number, jq = "jq-1.8.2"): void {
    const usr = path.join(cache, "root", "usr");
    const bin = path.join(usr, "bin");
    mkdirSync(bin, { recursive: true });
    mkdirSync(path.join(usr, "lib64"), { recursive: true });
    const tool = (name: string, line: string) => writeFileSync(path.join(bin, name), `#!/bin/sh\necho '${line}'\n`, { mode: 0o755 });
    tool("etcd", `etcd Version: 3.5.${etcdPatch}`);
    tool("etcdctl", `etcdctl version: 3.5.${etcdPatch}`);
    tool("etcdutl", `etcdutl version: 3.5.${etcdPatch}`);
    tool("promtool", "promtool, version 2.53.3+ds1 (branch: debian/sid)");
    tool("jq", jq);
    writeFileSync(path.join(usr, "lib64", "ld-linux-x86-64.so.2"), '#!/bin/sh\n[ "$1" = --library-path ] && shift 2\nexec "$@"\n', { mode: 0o755 });
}

function install(env: NodeJS.ProcessEnv = {}) {
    const { DEBIAN_MIRROR: _ignored, ...base } = process.env;
    const run = spawnSync("unshare", ["-m", "sh", "-c", 'mount -t tmpfs none /etc/apt && exec bash "$0"', SCRIPT], {
        env: { ...base, TOOLS_CACHE: cache, ...env },
        encoding: "utf8",
        timeout: 30_000,
    });
    if (run.error) throw run.error;
    return run;
}

test("tools of etcd 3.5.30 or later in the cache are taken as they are", () => {
    cachedTools(33);
    const run = install();
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(path.join(cache, "root", "usr", "bin"));
});

test("an older etcd 3.5 in the cache is replaced, and without a Debian archive in the apt sources that stops with what to set", () => {
    cachedTools(16);
    const run = install();
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/no Debian archive in the system's apt sources: set DEBIAN_MIRROR/);
});

test("a jq older than 1.7 in the cache is replaced", () => {
    cachedTools(33, "jq-1.6");
    const run = install();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no Debian archive in the system's apt sources/);
});

test("ETCD_MIN_PATCH raises the lowest patch accepted", () => {
    cachedTools(31);
    expect(install({ ETCD_MIN_PATCH: "32" }).status).toBe(1);
    expect(install({ ETCD_MIN_PATCH: "31" }).status).toBe(0);
});
