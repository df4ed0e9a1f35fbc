/**
 * The plan part of `npm run bench`: wall time of `npm start` (the offline plan of prod, written to a
 * temporary folder with `--out`) against the time a bare node process takes to load the four
 * Pulumi SDKs the plan uses, run in turn (bare, plan, bare, plan ...) after one warm-up run of each
 * so that both see the same machine; the figures are the medians, and the median of the ratios of
 * each pair (a pair shares the machine's load of the moment, which drifts on a shared machine).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../rendered-plan";

const RUN_TIMEOUT_MS = 180_000;
const SDK_LOAD = "require('@pulumi/pulumi');require('@pulumi/kubernetes');require('@pulumi/gcp');require('@pulumi/policy')";

/** Runs `command` to its end (bounded) and returns its wall time in seconds; a failed run throws. */
function timed(command: string, args: readonly string[]): number {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: PROJECT_DIR, encoding: "utf8", timeout: RUN_TIMEOUT_MS, killSignal: "SIGKILL" });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited ${result.status ?? result.signal}: ${(result.stderr ?? "").slice(-2000)}`);
    }
    return seconds;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

export function planBench(work: string, options: { runs?: number } = {}): object {
    const runs = options.runs ?? 7;
    const bare: number[] = [];
    const plan: number[] = [];
    for (let i = -1; i < runs; i++) {
        const out = path.join(work, `plan-prod-${i + 1}`);
        const bareSeconds = timed(process.execPath, ["-e", SDK_LOAD]);
        const planSeconds = timed("npm", ["start", "--silent", "--", "--out", out]);
        if (!fs.existsSync(path.join(out, "manifests.yaml"))) throw new Error(`npm start wrote no ${out}/manifests.yaml`);
        if (i < 0) continue; // the warm-up
        bare.push(bareSeconds);
        plan.push(planSeconds);
    }
    return {
        runs,
        sdkLoad: { command: `node -e "${SDK_LOAD}"`, wallSeconds: bare.map(round), medianSeconds: round(median(bare)) },
        npmStart: { command: "npm start -- --out <tmp>", wallSeconds: plan.map(round), medianSeconds: round(median(plan)) },
        npmStartOverSdkLoad: Math.round(median(plan.map((seconds, i) => seconds / bare[i])) * 100) / 100,
    };
}
