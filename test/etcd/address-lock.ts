// Cross-process locks on loopback addresses, so that two test runs on one
// machine that use the same member addresses (e.g. the same test file run twice
// at once) take turns instead of binding each other's ports and forming one
// broken mixed cluster.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onHostExit } from "./process-reaper";
import { waitFor } from "./wait";

const held = new Set<string>();
onHostExit(() => {
  for (const file of held) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
});

function lockFile(ip: string): string {
  return path.join(os.tmpdir(), `etcd-local-cluster-${ip}.lock`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One attempt; when the lock is taken, says by which live pid (NaN: a stale lock was just removed). */
function tryLock(file: string): { ok: true } | { ok: false; holder: number } {
  try {
    const fd = openSync(file, "wx");
    writeSync(fd, String(process.pid));
    closeSync(fd);
    held.add(file);
    return { ok: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const holder = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  if (!Number.isInteger(holder) || !isAlive(holder)) {
    // Left by a run that was killed: take it over on the next try.
    try {
      unlinkSync(file);
    } catch {
      // someone else removed it first
    }
    return { ok: false, holder: Number.NaN };
  }
  return { ok: false, holder };
}

/**
 * Locks every address in `ips` (in sorted order, so two callers cannot
 * deadlock), waiting up to `timeoutMs` for other processes to release them.
 * Returns the release function.
 */
export async function lockAddresses(ips: string[], timeoutMs: number): Promise<() => void> {
  const files = [...new Set(ips)].sort().map(lockFile);
  const mine: string[] = [];
  const release = (): void => {
    for (const file of mine.splice(0)) {
      held.delete(file);
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const file of files) {
      if (held.has(file)) throw new Error(`${file} is already held by this process (two clusters on one address?)`);
      await waitFor(
        `lock ${file}`,
        async () => {
          const result = tryLock(file);
          if (result.ok) return true;
          throw new Error(Number.isNaN(result.holder) ? "stale lock removed" : `held by live pid ${result.holder}`);
        },
        { timeoutMs, intervalMs: 250 },
      );
      mine.push(file);
    }
  } catch (err) {
    release();
    throw err;
  }
  return release;
}
