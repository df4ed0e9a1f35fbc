import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { kubernetesManifests, Manifest, manifestsYaml } from "./manifests";
import { PolicyPackConfig, PolicyPackProcess, PolicyViolation } from "./policy-pack";
import { runProgramInChild } from "./program-process";
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

export interface StackPlanArgs {
    readonly stack: string;
    /** The stack's settings, in the format of Pulumi.<stack>.yaml. */
    readonly configFile: string;
    /** The Pulumi project's folder (Pulumi.yaml, index.ts). */
    readonly projectDir: string;
    /** The policy pack, running or starting; one pack can judge several stacks in turn. */
    readonly pack: PolicyPackProcess | Promise<PolicyPackProcess>;
    readonly packConfig?: PolicyPackConfig;
    /** Stack tags the pack sees, as `pulumi stack tag` would set them. */
    readonly tags?: Readonly<Record<string, string>>;
}

export function projectName(projectDir: string): string {
    const project = parseYaml(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown };
    if (typeof project?.name !== "string") {
        throw new Error(`${projectDir}/Pulumi.yaml has no project name`);
    }
    return project.name;
}

/** Runs the program for a stack and judges what it registered with the pack. */
export async function planStack(args: StackPlanArgs): Promise<StackPlan> {
    const stackConfig = readStackFile(args.configFile);
    const project = projectName(args.projectDir);
    // A TypeScript pack type-checks for seconds when it starts: let it do so while the program runs.
    const [resources, pack] = await Promise.all([
        runProgramInChild({ ...stackConfig, programDir: args.projectDir, project, stack: args.stack }),
        args.pack,
    ]);
    const violations = await pack.judge({ stack: args.stack, project, tags: args.tags }, args.packConfig ?? {}, resources);
    return { stack: args.stack, project, resources, manifests: kubernetesManifests(resources), violations };
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
