/**
 * The plan part of `npm run bench`: wall time of the offline plan of a stack as an operator runs it,
 * `npm run plan -- --stack <stack> --out <tmp>`, `runs` times (bounded each); the median is the figure.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../rendered-plan";

const RUN_TIMEOUT_MS = 180_000;

export function planBench(work: string, options: { stack?: string; runs?: number } = {}): object {
    const stack = options.stack ?? "prod";
    const runs = options.runs ?? 3;
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
        const out = path.join(work, `plan-${stack}-${i}`);
        const started = process.hrtime.bigint();
        const result = spawnSync("npm", ["run", "--silent", "plan", "--", "--stack", stack, "--out", out], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            timeout: RUN_TIMEOUT_MS,
            killSignal: "SIGKILL",
        });
        const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
        if (result.status !== 0) {
            throw new Error(`npm run plan -- --stack ${stack} exited ${result.status ?? result.signal}: ${(result.stderr ?? "").slice(-2000)}`);
        }
        if (!fs.existsSync(path.join(out, "manifests.yaml"))) throw new Error(`npm run plan wrote no ${out}/manifests.yaml`);
        seconds.push(Math.round(elapsed * 100) / 100);
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    return {
        command: `npm run plan -- --stack ${stack} --out <tmp>`,
        runs,
        wallSeconds: seconds,
        medianSeconds: sorted[Math.floor(sorted.length / 2)],
    };
}
