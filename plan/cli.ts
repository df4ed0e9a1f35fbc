import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { replaceDirectory } from "./output-dir";
import { PolicyPackConfig } from "./policy-pack";
import { planFiles, planStack } from "./stack-plan";
import { planSummary } from "./summary";

/**
 * The offline plan: runs the Pulumi program of this folder under Pulumi's mock runtime, judges what
 * it declares with the policy pack in `policies/` as `pulumi preview --policy-pack` would, and
 * writes the Kubernetes manifests and a JSON plan.
 *
 * Exit status: 0 planned, 1 a mandatory policy is violated, 2 bad usage, config or program error.
 */

const USAGE =
    "usage: npm run plan -- --stack <name> [--config-file <Pulumi.X.yaml>] [--out <dir>] [--policy-pack-config <file.json>] [--tag <key>=<value> ...]";
const PROJECT_DIR = path.resolve(__dirname, "..");
const POLICY_PACK_DIR = path.join(PROJECT_DIR, "policies");

function options() {
    let parsed;
    try {
        parsed = parseArgs({
            options: {
                stack: { type: "string" },
                "config-file": { type: "string" },
                out: { type: "string" },
                "policy-pack-config": { type: "string" },
                tag: { type: "string", multiple: true },
            },
            allowPositionals: false,
        }).values;
    } catch (error) {
        throw new Error(`${(error as Error).message}\n${USAGE}`);
    }
    if (!parsed.stack || !/^[A-Za-z0-9_.-]+$/.test(parsed.stack)) {
        throw new Error(`--stack is required: a stack name such as "prod"\n${USAGE}`);
    }
    return {
        stack: parsed.stack,
        configFile: parsed["config-file"] ?? path.join(PROJECT_DIR, `Pulumi.${parsed.stack}.yaml`),
        out: parsed.out ?? path.join(PROJECT_DIR, "rendered", parsed.stack),
        packConfig: readPolicyPackConfig(parsed["policy-pack-config"]),
        tags: Object.fromEntries((parsed.tag ?? []).map(parseTag)),
    };
}

/** A stack tag as `pulumi stack tag set` takes it, e.g. `environment=production`. */
function parseTag(text: string): [string, string] {
    const match = /^([^=\s]+)=(.*)$/.exec(text);
    if (!match) {
        throw new Error(`--tag ${text}: expected <key>=<value>, e.g. environment=production\n${USAGE}`);
    }
    return [match[1], match[2]];
}

function readPolicyPackConfig(file: string | undefined): PolicyPackConfig {
    if (!file) {
        return {};
    }
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as PolicyPackConfig;
    } catch (error) {
        throw new Error(`--policy-pack-config ${file}: expected a readable JSON file (${(error as Error).message})`);
    }
}

async function main(): Promise<number> {
    const args = options();
    const plan = await planStack(args, { projectDir: PROJECT_DIR, packDir: POLICY_PACK_DIR, packConfig: args.packConfig });
    replaceDirectory(args.out, planFiles(plan));
    console.log(planSummary(plan));
    console.log(`Wrote ${path.join(path.relative(process.cwd(), args.out), "manifests.yaml")} and plan.json`);
    return plan.violations.some((violation) => violation.enforcementLevel === "mandatory") ? 1 : 0;
}

main().then(
    (status) => process.exit(status),
    (error: Error) => {
        console.error(`plan failed: ${error.message}`);
        process.exit(2);
    },
);
