/**
 * The program (index.ts) run under Pulumi's mocks with a stack file's configuration changed in a
 * few keys: what such a stack declares, without the policy pack (whose start-up makes a plan CLI
 * run cost tens of seconds). The runs go through the offline plan's own program host, in a child
 * process, and the manifests through its renderer: what `npm run plan` would render.
 */
import * as path from "path";
import { kubernetesManifests } from "../plan/manifests";
import { runProgramsInChild } from "../plan/program-process";
import { projectName } from "../plan/stack-plan";
import { readStackFile } from "../plan/stack-file";
import { RegisteredResource } from "../plan/recording-monitor";
import { PROJECT_DIR, RenderedManifest } from "./rendered-plan";

/** A stack file and the config keys to change in it. */
export interface StackVariant {
    /** e.g. `Pulumi.prod.yaml`, relative to the project. */
    readonly stackFile: string;
    /** Full keys (`apisix-etcd:restore`, `gcp:project`) -> value (objects as in YAML); undefined removes the key. */
    readonly changes?: Readonly<Record<string, unknown>>;
    readonly stack?: string;
}

export interface DeclaredStack {
    /** Set when the program failed (a config error, a component's ResourceError ...). */
    readonly error?: string;
    readonly resources: RegisteredResource[];
    readonly manifests: RenderedManifest[];
}

/** Runs the program once per variant, one after the other in one child process. */
export async function declareStacks(variants: readonly StackVariant[]): Promise<DeclaredStack[]> {
    const project = projectName(PROJECT_DIR);
    const runs = variants.map((variant) => {
        const { config, secretKeys } = readStackFile(path.resolve(PROJECT_DIR, variant.stackFile));
        const changed = { ...config };
        for (const [key, value] of Object.entries(variant.changes ?? {})) {
            if (value === undefined) delete changed[key];
            else changed[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
        return { config: changed, secretKeys, programDir: PROJECT_DIR, project, stack: variant.stack ?? "test" };
    });
    const results = await runProgramsInChild(runs);
    return results.map((result) =>
        result instanceof Error
            ? { error: result.message, resources: [], manifests: [] }
            : { resources: result, manifests: kubernetesManifests(result) as RenderedManifest[] },
    );
}

/** The single resource of `type` (and `name`); throws, listing what there is, otherwise. */
export function declared(stack: DeclaredStack, type: string, name?: string): RegisteredResource {
    const matches = stack.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (matches.length !== 1) {
        throw new Error(`expected one ${type} ${name ?? ""}, found ${matches.length}: ${stack.resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
    }
    return matches[0];
}
