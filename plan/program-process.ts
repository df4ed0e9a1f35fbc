import { spawn } from "child_process";
import * as path from "path";
import type { ProgramRunResult } from "./program-host";
import { ProgramError, ProgramRunArgs } from "./program-run";
import { RegisteredResource } from "./recording-monitor";

const HOST = path.join(__dirname, "program-host.ts");

/**
 * Runs the program for each of `runs` in a child process (see program-host.ts), so that the
 * planner's own process never holds the SDK's runtime state. Each result is the resources the
 * run registered, or the {@link ProgramError} that stopped it.
 */
export function runProgramsInChild(runs: readonly ProgramRunArgs[]): Promise<(RegisteredResource[] | ProgramError)[]> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", HOST], {
            cwd: runs[0]?.programDir,
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new ProgramError([stderr.trim() || `the program host exited with status ${code}`]));
                return;
            }
            try {
                const results = JSON.parse(stdout) as ProgramRunResult[];
                resolve(results.map((result) => ("error" in result ? new ProgramError([result.error]) : result.resources)));
            } catch (error) {
                reject(new ProgramError([`the program host's answer is not JSON (${(error as Error).message})`]));
            }
        });
        child.stdin.end(JSON.stringify(runs));
    });
}

/** Runs the program for one stack in a child process. */
export async function runProgramInChild(args: ProgramRunArgs): Promise<RegisteredResource[]> {
    const [result] = await runProgramsInChild([args]);
    if (result instanceof ProgramError) {
        throw result;
    }
    return result;
}
