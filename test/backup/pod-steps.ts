/**
 * The containers of a rendered pod as local processes, run the way the kubelet runs them: the init
 * containers one after the other, each only if the one before exited 0, then the main container.
 * A step is a container's command, args and env AS RENDERED, with `$(VAR)` expanded as the kubelet
 * does, and only these stand-ins: each mounted volume's path -> a local folder, strings the caller
 * names (the cluster's address) -> local ones, and the command's binary -> a local one of that name.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { localizePaths } from "../etcd/pod-volumes";
import { expandKubernetesReferences } from "../etcd/rendered-members";

export interface PodStep {
    /** The container's name. */
    readonly name: string;
    readonly binary: string;
    readonly args: string[];
    readonly env: Record<string, string>;
}

export interface StepResult {
    readonly name: string;
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly seconds: number;
}

export interface PodStepsMapping {
    /** Volume name -> the local folder standing for it; every mounted volume needs one (secret volumes: secretVolumeDirs). */
    readonly volumes: Readonly<Record<string, string>>;
    /** Rendered text -> local text, replaced wherever it occurs in args and env values. */
    readonly replace?: Readonly<Record<string, string>>;
    /** Binary name (the command's basename) -> local executable. */
    readonly binaries: Readonly<Record<string, string>>;
    /** `<secret>/<key>` -> the value an `env[].valueFrom.secretKeyRef` reads; an optional ref without one stays unset. */
    readonly secretKeyRefs?: Readonly<Record<string, string>>;
}

interface ContainerManifest {
    name: string;
    command?: string[];
    args?: string[];
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
    volumeMounts?: { name: string; mountPath: string }[];
}

/** One container as a local step. */
export function containerStep(container: ContainerManifest, mapping: PodStepsMapping): PodStep {
    if (!container.command?.length) {
        throw new Error(`container ${container.name} has no command: the image's entrypoint has no local stand-in`);
    }
    const mounts = new Map(
        (container.volumeMounts ?? []).map((mount) => {
            const local = mapping.volumes[mount.name];
            if (local === undefined) throw new Error(`container ${container.name} mounts volume "${mount.name}", which has no local stand-in`);
            return [mount.mountPath, local];
        }),
    );
    const localize = (text: string): string => {
        let out = text;
        for (const [from, to] of Object.entries(mapping.replace ?? {})) out = out.split(from).join(to);
        return localizePaths(out, mounts);
    };
    const env = new Map<string, string>();
    for (const variable of container.env ?? []) {
        if (variable.valueFrom !== undefined) {
            const ref = variable.valueFrom.secretKeyRef;
            const value = ref && mapping.secretKeyRefs?.[`${ref.name}/${ref.key}`];
            if (value !== undefined) env.set(variable.name, value);
            else if (!ref?.optional) throw new Error(`container ${container.name}: env ${variable.name} uses valueFrom ${JSON.stringify(variable.valueFrom)}, which has no local stand-in`);
            continue;
        }
        env.set(variable.name, localize(expandKubernetesReferences(variable.value ?? "", (name) => env.get(name))));
    }
    const [command, ...args] = [...container.command, ...(container.args ?? [])].map((part) => expandKubernetesReferences(part, (name) => env.get(name)));
    const binary = mapping.binaries[path.basename(command)];
    if (!binary) throw new Error(`container ${container.name} runs ${command}, which has no local stand-in`);
    return { name: container.name, binary, args: args.map(localize), env: Object.fromEntries(env) };
}

/** The init containers, then the containers, of a rendered pod spec, as local steps. */
export function podSteps(podSpec: { initContainers?: ContainerManifest[]; containers?: ContainerManifest[] }, mapping: PodStepsMapping): PodStep[] {
    return [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])].map((container) => containerStep(container, mapping));
}

export interface RunOptions {
    /** Folders put first on PATH (where stand-ins such as gcs-stand-in live). */
    readonly path?: readonly string[];
    /** Called after a step exited 0, before the next starts (to damage what it left, say). */
    readonly after?: (step: string) => void;
    readonly timeoutMs?: number;
}

/**
 * Runs the steps in order and stops at the first that fails, as the kubelet does with init
 * containers (restartPolicy Never: the pod fails). Returns the results of the steps that ran.
 */
export function runSteps(steps: readonly PodStep[], options: RunOptions = {}): StepResult[] {
    const results: StepResult[] = [];
    for (const step of steps) {
        const started = process.hrtime.bigint();
        const run = spawnSync(step.binary, step.args, {
            encoding: "utf8",
            // Only what the container would have, plus a PATH to find its tools.
            env: { PATH: [...(options.path ?? []), process.env.PATH].join(":"), ...step.env },
            timeout: options.timeoutMs ?? 120_000,
            killSignal: "SIGKILL",
            maxBuffer: 16 * 1024 * 1024,
        });
        const result = {
            name: step.name,
            status: run.status,
            stdout: run.stdout ?? "",
            stderr: run.stderr ?? "",
            seconds: Number(process.hrtime.bigint() - started) / 1e9,
        };
        results.push(result);
        if (result.status !== 0) break;
        options.after?.(step.name);
    }
    return results;
}

/** Whether every step ran and exited 0. */
export function allSucceeded(steps: readonly PodStep[], results: readonly StepResult[]): boolean {
    return results.length === steps.length && results.every((result) => result.status === 0);
}
