import { spawn } from "child_process";
import * as path from "path";
import { ProgramError, ProgramRunArgs } from "./program-run";
import { RegisteredResource } from "./recording-monitor";

const HOST = path.join(__dirname, "program-host.ts");

/** Runs the program in a child process (see program-host.ts) and returns what it registered. */
export function runProgramInChild(args: ProgramRunArgs): Promise<RegisteredResource[]> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", HOST], {
            cwd: args.programDir,
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            if (code === 0) {
                resolve(JSON.parse(stdout) as RegisteredResource[]);
            } else {
                reject(new ProgramError([stderr.trim() || `the program exited with status ${code}`]));
            }
        });
        child.stdin.end(JSON.stringify(args));
    });
}
