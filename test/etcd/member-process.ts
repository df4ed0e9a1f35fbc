// One process in its own process group (an etcd member, or a sandbox container's first process), with its
// output in a log file. The group ends with that process.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, fstatSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import * as path from "node:path";
import { registerProcessGroup } from "./process-reaper";

export interface EtcdMemberProcessOptions {
  /** Path of the etcd binary. */
  binary: string;
  args: string[];
  /** Replaces every ETCD_* variable of process.env (other variables are inherited, unless `inheritEnv` is false). */
  env: Record<string, string>;
  /** Whether the process inherits the test's variables (but ETCD_*); default true. False: exactly `env`. */
  inheritEnv?: boolean;
  /** Directory for the log file (created if missing). */
  logDir: string;
  /** Log file base name; defaults to "etcd". The file is appended to across restarts. */
  logName?: string;
  /** Whether each start writes a line with the time and command first; default true (a pod's log holds only the container's output). */
  logHeader?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

// Enough to hold the last few hundred log lines of etcd's JSON logs.
const TAIL_BYTES = 64 * 1024;

/** Process env minus inherited ETCD_* vars (etcd reads them as flags), plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("ETCD_")) result[key] = value;
  }
  return { ...result, ...env };
}

export class EtcdMemberProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  constructor(options: EtcdMemberProcessOptions) {
    accessSync(options.binary, constants.X_OK); // clear ENOENT/EACCES now rather than an async 'error'
    mkdirSync(options.logDir, { recursive: true });
    this.logFile = path.join(options.logDir, `${options.logName ?? "etcd"}.log`);

    // The child writes straight to the file: nothing to drain, and the log
    // survives us.
    const logFd = openSync(this.logFile, "a");
    let child: ChildProcess;
    try {
      if (options.logHeader ?? true) writeSync(logFd, `\n=== ${new Date().toISOString()} start ${options.binary} ${options.args.join(" ")}\n`);
      child = spawn(options.binary, options.args, {
        env: options.inheritEnv === false ? options.env : childEnv(options.env),
        detached: true, // own process group: stop/kill signal the whole group
        stdio: ["ignore", logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    if (child.pid === undefined) {
      child.once("error", () => {}); // reported by the throw below, not as an unhandled 'error'
      throw new Error(`failed to spawn ${options.binary}`);
    }
    this.child = child;
    this.pid = child.pid;

    const unregister = registerProcessGroup(this.pid);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        // What is left of the group goes with its first process, as a container's processes go with its
        // PID 1: a child of a shell that exited on SIGTERM (a `sleep`, a `$(...)` subshell) would run on.
        this.signalGroup("SIGKILL");
        unregister();
        resolve(info);
      };
      child.once("exit", (code, signal) => done({ code, signal }));
      child.once("error", () => done({ code: null, signal: null }));
    });
  }

  /** Whether the process is still running (has not been seen to exit). */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** SIGTERM to the process group, SIGKILL after `timeoutMs`; resolves once exited. */
  async stop(timeoutMs = 10_000): Promise<ExitInfo> {
    return this.termThenKill(() => this.signalGroup("SIGTERM"), timeoutMs);
  }

  /**
   * SIGTERM to the first process only (what a container runtime sends a container's PID 1), SIGKILL
   * to the whole group after `timeoutMs`; resolves once exited.
   */
  async terminate(timeoutMs: number): Promise<ExitInfo> {
    return this.termThenKill(() => {
      try {
        process.kill(this.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }, timeoutMs);
  }

  private async termThenKill(sendTerm: () => void, timeoutMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    sendTerm();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first === "timeout") this.signalGroup("SIGKILL");
    return this.exited;
  }

  /** SIGKILL to the process group at once; resolves once exited. */
  async kill(): Promise<ExitInfo> {
    if (this.running) this.signalGroup("SIGKILL");
    return this.exited;
  }

  /** Last `n` lines of the log file (for error messages). */
  logTail(n = 40): string {
    let fd: number | undefined;
    try {
      fd = openSync(this.logFile, "r");
      const size = fstatSync(fd).size;
      const length = Math.min(size, TAIL_BYTES);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      const lines = buf.toString("utf8").split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      return lines.slice(-n).join("\n");
    } catch (err) {
      return `(cannot read ${this.logFile}: ${(err as Error).message})`;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // group already gone (the 'exit' event may not have been delivered yet)
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}
