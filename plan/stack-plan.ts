import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { kubernetesManifests, Manifest, manifestsYaml } from "./manifests";
import { PolicyPackConfig, PolicyPackProcess, PolicyViolation } from "./policy-pack";
import { runProgramsInChild } from "./program-process";
import { RegisteredResource } from "./recording-monitor";
import { redactSecrets } from "./secrets";
import { readStackFile } from "./stack-file";

/** What `pulumi preview --policy-pack` would show for one stack. */
export interface StackPlan {
    readonly stack: string;
    readonly project: string;
    readonly resources: readonly RegisteredResource[];
    readonly manifests: readonly Manifest[];
    readonly violations: readonly PolicyViolation[];
}

/** One stack to plan. */
export interface StackRequest {
    readonly stack: string;
    /** The stack's settings, in the format of Pulumi.<stack>.yaml. */
    readonly configFile: string;
    /** Stack tags the pack sees, as `pulumi stack tag` would set them. */
    readonly tags?: Readonly<Record<string, string>>;
}

export interface PlanContext {
    /** The Pulumi project's folder (Pulumi.yaml, index.ts). */
    readonly projectDir: string;
    /** The policy pack (it may still be starting); one pack judges the stacks in turn. */
    readonly pack: PolicyPackProcess;
    readonly packConfig?: PolicyPackConfig;
}

export function projectName(projectDir: string): string {
    const project = parseYaml(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown };
    if (typeof project?.name !== "string") {
        throw new Error(`${projectDir}/Pulumi.yaml has no project name`);
    }
    return project.name;
}

/**
 * Runs the program for each stack (one after the other, in one child process) and judges what each
 * registered with the pack. A stack whose config or program fails gets its error in its place.
 */
export async function planStacks(requests: readonly StackRequest[], context: PlanContext): Promise<(StackPlan | Error)[]> {
    const project = projectName(context.projectDir);
    const runs = requests.map((request) => {
        try {
            return { ...readStackFile(request.configFile), programDir: context.projectDir, project, stack: request.stack };
        } catch (error) {
            return error as Error;
        }
    });
    const runnable = runs.filter((run): run is Exclude<typeof run, Error> => !(run instanceof Error));
    // The pack type-checks for seconds when it starts, while the programs run.
    const results = runnable.length > 0 ? await runProgramsInChild(runnable) : [];
    const resultOf = new Map(runnable.map((run, index) => [run, results[index]]));
    const plans: (StackPlan | Error)[] = [];
    for (const [index, run] of runs.entries()) {
        const result = run instanceof Error ? run : resultOf.get(run)!;
        if (result instanceof Error) {
            plans.push(result);
            continue;
        }
        const request = requests[index];
        const violations = await context.pack.judge({ stack: request.stack, project, tags: request.tags }, context.packConfig ?? {}, result);
        plans.push({ stack: request.stack, project, resources: result, manifests: kubernetesManifests(result), violations });
    }
    return plans;
}

/** Plans one stack; its config or program error is thrown. */
export async function planStack(request: StackRequest, context: PlanContext): Promise<StackPlan> {
    const [plan] = await planStacks([request], context);
    if (plan instanceof Error) {
        throw plan;
    }
    return plan;
}

/** The files of a plan: every Kubernetes object, and the JSON plan with the policies' verdicts. */
export function planFiles(plan: StackPlan): Record<string, string> {
    const json = {
        stack: plan.stack,
        project: plan.project,
        resources: plan.resources.map((resource) => ({
            type: resource.type,
            name: resource.name,
            urn: resource.urn,
            custom: resource.custom,
            inputs: redactSecrets(resource.inputs),
            options: resource.options,
        })),
        policies: { violations: plan.violations },
    };
    return {
        "manifests.yaml": manifestsYaml(plan.manifests),
        "plan.json": JSON.stringify(json, null, 2) + "\n",
    };
}
