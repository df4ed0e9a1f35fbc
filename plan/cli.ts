import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { parse as parseYaml } from "yaml";
import { kubernetesManifests, manifestsYaml } from "./manifests";
import { replaceDirectory } from "./output-dir";
import { PolicyPackConfig, PolicyPackProcess, PolicyViolation } from "./policy-pack";
import { runProgram } from "./program-run";
import { redactSecrets } from "./secrets";
import { planSummary } from "./summary";
import { readStackFile } from "./stack-file";

/**
 * The offline plan: runs the Pulumi program of this folder under Pulumi's mock runtime, judges what
 * it declares with the policy pack in `policies/` as `pulumi preview --policy-pack` would, and
 * writes the Kubernetes manifests and a JSON plan.
 *
 * Exit status: 0 planned, 1 a mandatory policy is violated, 2 bad usage, config or program error.
 */

const USAGE = "usage: npm run plan -- --stack <name> [--config-file <Pulumi.X.yaml>] [--out <dir>] [--policy-pack-config <file.json>]";
const PROJECT_DIR = path.resolve(__dirname, "..");
const POLICY_PACK_DIR = path.join(PROJECT_DIR, "policies");

class UsageError extends Error {}

function options() {
    let parsed;
    try {
        parsed = parseArgs({
            options: {
                stack: { type: "string" },
                "config-file": { type: "string" },
                out: { type: "string" },
                "policy-pack-config": { type: "string" },
            },
            allowPositionals: false,
        }).values;
    } catch (error) {
        throw new UsageError(`${(error as Error).message}\n${USAGE}`);
    }
    if (!parsed.stack || !/^[A-Za-z0-9_.-]+$/.test(parsed.stack)) {
        throw new UsageError(`--stack is required: a stack name such as "prod"\n${USAGE}`);
    }
    return {
        stack: parsed.stack,
        configFile: parsed["config-file"] ?? path.join(PROJECT_DIR, `Pulumi.${parsed.stack}.yaml`),
        out: parsed.out ?? path.join(PROJECT_DIR, "rendered", parsed.stack),
        policyPackConfig: parsed["policy-pack-config"],
    };
}

function readPolicyPackConfig(file: string | undefined): PolicyPackConfig {
    if (!file) {
        return {};
    }
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as PolicyPackConfig;
    } catch (error) {
        throw new UsageError(`--policy-pack-config ${file}: expected a readable JSON file (${(error as Error).message})`);
    }
}

async function plan(): Promise<number> {
    const args = options();
    const packConfig = readPolicyPackConfig(args.policyPackConfig);
    const stackConfig = readStackFile(args.configFile);
    const project = String((parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { name: string }).name);

    // The pack type-checks while the program runs: both take seconds.
    const packStarting = PolicyPackProcess.start(POLICY_PACK_DIR, { PULUMI_NODEJS_STACK: args.stack, PULUMI_NODEJS_PROJECT: project });
    packStarting.catch(() => undefined);
    let violations: PolicyViolation[];
    let resources;
    try {
        resources = await runProgram({ ...stackConfig, programDir: PROJECT_DIR, project, stack: args.stack });
    } finally {
        // Whatever happens to the program, the pack's process must not outlive the plan.
        const pack = await packStarting.catch(() => undefined);
        if (resources && pack) {
            try {
                await pack.configure({ stack: args.stack, project }, packConfig);
                violations = await pack.analyze(resources);
            } finally {
                await pack.stop();
            }
        } else {
            await pack?.stop();
        }
    }
    if (!violations!) {
        await packStarting; // rethrows why the pack did not start
    }

    const manifests = kubernetesManifests(resources);
    const planJson = {
        stack: args.stack,
        project,
        resources: resources.map((resource) => ({
            type: resource.type,
            name: resource.name,
            urn: resource.urn,
            custom: resource.custom,
            inputs: redactSecrets(resource.inputs),
            options: resource.options,
        })),
        policies: { violations: violations! },
    };
    replaceDirectory(args.out, {
        "manifests.yaml": manifestsYaml(manifests),
        "plan.json": JSON.stringify(planJson, null, 2) + "\n",
    });
    console.log(planSummary(args.stack, resources, manifests, violations!));
    console.log(`Wrote ${path.relative(process.cwd(), args.out) || "."}/manifests.yaml and plan.json`);
    return violations!.some((violation) => violation.enforcementLevel === "mandatory") ? 1 : 0;
}

plan().then(
    (status) => process.exit(status),
    (error: Error) => {
        console.error(`plan failed: ${error.message}`);
        process.exit(2);
    },
);
