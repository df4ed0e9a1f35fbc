// The reaper's second layer: when the process that registered groups dies by SIGKILL (no exit handler
// runs, as when jest kills a worker), its watchdog kills the groups still registered, and only those.
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import { waitFor } from "./wait";

const ROOT = path.join(__dirname, "..", "..");

/** Starts three `sleep` groups in a host process, registers them, unregisters the second; resolves their pids. */
const HOST_SCRIPT = `
const { spawn } = require("child_process");
const { registerProcessGroup } = require(${JSON.stringify(path.join(__dirname, "process-reaper.ts"))});
const pids = [0, 1, 2].map(() => spawn("sleep", ["300"], { detached: true, stdio: "ignore" }).pid);
const unregister = pids.map(registerProcessGroup);
unregister[1]();
process.stdout.write(JSON.stringify(pids) + "\\n");
setInterval(() => {}, 1000);
`;

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

let host: ChildProcess | undefined;
let pids: number[] = [];

afterEach(() => {
    host?.kill("SIGKILL");
    for (const pid of pids.filter(alive)) process.kill(-pid, "SIGKILL");
});

test("a host killed by SIGKILL takes the groups it registered with it, not one it unregistered", async () => {
    host = spawn(process.execPath, ["-r", path.join(ROOT, "plan", "typescript-loader.js"), "-e", HOST_SCRIPT], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    host.stdout!.on("data", (chunk) => (output += chunk));
    await waitFor("the host's pids", async () => (output.includes("\n") ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    pids = JSON.parse(output);
    expect(pids.map(alive)).toEqual([true, true, true]);

    host.kill("SIGKILL");
    await waitFor("the registered groups gone", async () => (!alive(pids[0]) && !alive(pids[2])) || undefined, { timeoutMs: 5_000, intervalMs: 20 });
    expect(alive(pids[1])).toBe(true);
});
