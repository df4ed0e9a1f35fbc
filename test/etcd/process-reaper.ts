// Makes sure no process group we spawn outlives this Node process, however it ends.
//
// Two layers:
//  1. a synchronous 'exit' handler on the *host* process that SIGKILLs every
//     registered group (covers normal exit and process.exit());
//  2. a tiny detached shell watchdog per group that SIGKILLs the group once this
//     Node process is gone (covers SIGKILL/crash of a jest worker, where no
//     handler runs): it waits on a pipe from this process, which the kernel
//     closes when this process ends, however it ends.
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import * as vm from "node:vm";

// Inside jest, the global `process` (and require("process")) is a per-test copy
// whose 'exit' event never fires; the host context's `process` is the real one.
const hostProcess = vm.runInThisContext("process") as NodeJS.Process;

const liveGroups = new Set<number>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  hostProcess.on("exit", killGroupsNow);
  exitHandlerInstalled = true;
}

function killGroupsNow(): void {
  for (const pgid of liveGroups) {
    try {
      hostProcess.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
}

// Blocks reading its stdin, the read end of a pipe whose only write end this process holds (node opens its
// pipes close-on-exec, so no other child inherits it): end of file means this process is gone, and the group
// is killed. Nothing polls: a watchdog that looked every second (a fork and a sleep per container and second)
// cost an idle sandbox cluster a fifth of its CPU.
const WATCHDOG_SCRIPT = 'read -r _ || true; kill -KILL "-$1" 2>/dev/null; exit 0';

/**
 * Registers a process group (its leader's pid) for cleanup. Call the returned
 * function once the group leader has exited.
 */
export function registerProcessGroup(pgid: number): () => void {
  installExitHandler();
  liveGroups.add(pgid);

  const watchdog = spawn("sh", ["-c", WATCHDOG_SCRIPT, "etcd-watchdog", String(pgid)], {
    detached: true, // not in our process group, so a group-wide kill of us leaves it alive to do its job
    stdio: ["pipe", "ignore", "ignore"],
  });
  watchdog.on("error", () => {
    // no sh: the exit handler still covers normal exits
  });
  // Neither the watchdog nor its pipe keeps this process alive.
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();

  return () => {
    liveGroups.delete(pgid);
    // Kill its whole group so a pending `sleep` goes too.
    if (watchdog.pid !== undefined && watchdog.exitCode === null && watchdog.signalCode === null) {
      try {
        hostProcess.kill(-watchdog.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
}
