import { spawn } from "child_process";
import * as path from "path";
import type { HostRequest, ProgramRunResult, StackPlanResult } from "./program-host";
import { ProgramError } from "./program-error";
import type { ProgramRunArgs } from "./program-run";
import type { RegisteredResource } from "./recording-monitor";
import type { PlanContext, StackPlan, StackRequest } from "./stack-plan";

const HOST = path.join(__dirname, "program-host.ts");
const LOADER = path.join(__dirname, "typescript-loader.js");

/** Hands `request` to a new program host (program-host.ts) and returns its answer. */
function askHost<Result>(request: HostRequest, cwd: string): Promise<Result[]> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", LOADER, HOST], { cwd, stdio: ["pipe", "pipe", "pipe"] });
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
                resolve(JSON.parse(stdout) as Result[]);
            } catch (error) {
                reject(new ProgramError([`the program host's answer is not JSON (${(error as Error).message})`]));
            }
        });
        child.stdin.end(JSON.stringify(request));
    });
}

/**
 * Runs the program for each of `runs` in a child process, so that the caller's own process never
 * holds the SDK's runtime state (nor loads the SDK). Each result is the resources the run
 * registered, or the {@link ProgramError} that stopped it.
 */
export async function runProgramsInChild(runs: readonly ProgramRunArgs[]): Promise<(RegisteredResource[] | ProgramError)[]> {
    if (runs.length === 0) return [];
    const results = await askHost<ProgramRunResult>({ declare: runs }, runs[0].programDir);
    return results.map((result) => ("error" in result ? new ProgramError([result.error]) : result.resources));
}

/**
 * {@link planStacks} in a child process: the programs and the pack share that one process, and a
 * stack whose config or program fails gets its error in its place.
 */
export async function planStacksInChild(requests: readonly StackRequest[], context: PlanContext): Promise<(StackPlan | Error)[]> {
    const results = await askHost<StackPlanResult>({ plan: requests, context }, context.projectDir);
    return results.map((result) => ("error" in result ? new ProgramError([result.error]) : result.plan));
}
