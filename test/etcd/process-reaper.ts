// Makes sure no process group we spawn outlives this Node process, however it ends.
//
// Two layers:
//  1. a synchronous 'exit' handler on the *host* process that SIGKILLs every
//     registered group (covers normal exit and process.exit());
//  2. a detached shell watchdog that SIGKILLs the groups still registered once
//     this Node process is gone (covers SIGKILL/crash of a jest worker, where no
//     handler runs): it reads a pipe from this process, which the kernel closes
//     when this process ends, however it ends.
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import type { Writable } from "node:stream";
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

// One watchdog per host process (all the suites a jest worker runs share it): a shell that reads "add <pgid>"
// and "del <pgid>" lines on its stdin, the read end of a pipe whose only write end this process holds (node
// opens its pipes close-on-exec, so no other child inherits it). End of file means this process is gone: it
// kills every group still listed. Nothing polls, and a container start costs no second fork: a watchdog per
// group was a third of the CPU the jest workers spent spawning (profile of a whole run), and one that looked
// every second cost an idle sandbox cluster a fifth of its CPU.
const WATCHDOG_SCRIPT = `groups=" "
while read -r op pgid; do
  case $op in
    add) groups="$groups$pgid " ;;
    del) case $groups in *" $pgid "*) groups="\${groups%% $pgid *} \${groups#* $pgid }" ;; esac ;;
  esac
done
for pgid in $groups; do kill -KILL "-$pgid" 2>/dev/null; done
exit 0`;

const WATCHDOG = Symbol.for("apisix-etcd.process-reaper.watchdog");
type HostWithWatchdog = NodeJS.Process & { [WATCHDOG]?: Writable };

/** The host process's watchdog's stdin, started on first use. */
function watchdog(): Writable {
  const host = hostProcess as HostWithWatchdog;
  let input = host[WATCHDOG];
  if (!input) {
    const child = spawn("sh", ["-c", WATCHDOG_SCRIPT, "process-watchdog"], {
      detached: true, // not in our process group, so a group-wide kill of us leaves it alive to do its job
      stdio: ["pipe", "ignore", "ignore"],
    });
    const stdin = child.stdin as Writable;
    // No sh, or a watchdog killed from outside: the exit handler still covers normal exits, and the
    // next registration starts a new watchdog.
    const forget = () => {
      if (host[WATCHDOG] === stdin) delete host[WATCHDOG];
    };
    child.on("error", forget);
    stdin.on("error", forget);
    // Neither the watchdog nor its pipe keeps this process alive.
    child.unref();
    (stdin as Socket).unref();
    input = stdin;
    host[WATCHDOG] = input;
  }
  return input;
}

/**
 * Registers a process group (its leader's pid) for cleanup. Call the returned
 * function once the group leader has exited.
 */
export function registerProcessGroup(pgid: number): () => void {
  installExitHandler();
  liveGroups.add(pgid);
  watchdog().write(`add ${pgid}\n`);
  return () => {
    liveGroups.delete(pgid);
    watchdog().write(`del ${pgid}\n`);
  };
}
