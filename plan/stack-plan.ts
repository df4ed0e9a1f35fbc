import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { kubernetesManifests, Manifest, manifestsYaml } from "./manifests";
import { PolicyPackConfig, PolicyViolation } from "./policy-pack";
import { ProgramError } from "./program-error";
import { RegisteredResource } from "./recording-monitor";
import { redactSecrets } from "./secrets";
import { readStackFile, StackFileError } from "./stack-file";

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
    /** The policy pack's folder (PulumiPolicy.yaml); one pack judges the stacks in turn. */
    readonly packDir: string;
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
 * Runs the program for each stack, one after the other in this process, and judges what each
 * registered with the pack, loaded into this process too (plan/policy-pack-in-process.ts). A stack
 * whose config or program fails gets its error in its place. The SDK and the pack are loaded once
 * a stack file has been read: a refused file is reported at once.
 */
export async function planStacks(requests: readonly StackRequest[], context: PlanContext): Promise<(StackPlan | Error)[]> {
    const project = projectName(context.projectDir);
    const plans: (StackPlan | Error)[] = [];
    for (const request of requests) {
        let resources: RegisteredResource[];
        try {
            const config = readStackFile(request.configFile);
            const { runProgram } = await import("./program-run");
            resources = await runProgram({ ...config, programDir: context.projectDir, project, stack: request.stack });
        } catch (error) {
            if (!(error instanceof StackFileError || error instanceof ProgramError)) throw error;
            plans.push(error);
            continue;
        }
        const { inProcessPolicyPack } = await import("./policy-pack-in-process");
        const violations = await inProcessPolicyPack(context.packDir).judge({ stack: request.stack, project, tags: request.tags }, context.packConfig ?? {}, resources);
        plans.push({ stack: request.stack, project, resources, manifests: kubernetesManifests(resources), violations });
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
