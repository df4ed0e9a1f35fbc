/**
 * The plan of a stack as the real plan CLI renders it, shared by every test file of one `npm test`
 * run: jest's globalSetup (test/global-setup.ts) spawns `plan/cli.ts --stack prod --out <dir>` once
 * and passes the folder to the workers in an environment variable; test files call
 * {@link renderedPlan} to read it. Run without the global setup (a single file through another jest
 * config), the first call renders the stack itself, once per worker.
 *
 * What a test reads here is what `npm run plan` writes: the CLI runs the program under Pulumi's
 * mocks and the policy pack, so a test on these manifests tests the deliverable, not a re-render.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vm from "vm";
import { parseAllDocuments } from "yaml";

/** Environment variable naming the folder that holds one sub-folder per rendered stack. */
export const RENDERED_PLAN_ROOT_ENV = "APISIX_ETCD_TEST_RENDERED_PLANS";

/** The stacks the global setup renders before any test runs. */
export const PRERENDERED_STACKS: readonly string[] = ["prod"];

export const PROJECT_DIR = path.resolve(__dirname, "..");
/** The plan CLI as `npm run plan` starts it: node with the project's TypeScript loader. */
export const PLAN_COMMAND: readonly string[] = ["-r", path.join(PROJECT_DIR, "plan", "typescript-loader.js"), path.join(PROJECT_DIR, "plan", "cli.ts")];

/** Rendering a stack takes a few seconds (the SDK, then the program under mocks and the pack); bounded anyway. */
const RENDER_TIMEOUT_MS = 120_000;

/** A Kubernetes object as written to manifests.yaml. */
export interface RenderedManifest {
    apiVersion: string;
    kind: string;
    metadata: { name?: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
    [key: string]: any;
}

/** One resource of plan.json. */
export interface PlannedResource {
    type: string;
    name: string;
    urn: string;
    custom: boolean;
    inputs: Record<string, any>;
    options: { protect: boolean; retainOnDelete: boolean; deleteBeforeReplace: boolean; ignoreChanges: string[]; import?: string; dependsOn: string[] };
}

/** plan.json as the CLI writes it. */
export interface PlanJson {
    stack: string;
    project: string;
    resources: PlannedResource[];
    policies: { violations: { policyName: string; enforcementLevel: string; message: string; urn?: string; resourceType?: string; resourceName?: string }[] };
}

/** How the CLI run that produced a rendered plan ended. */
export interface CliRun {
    readonly args: string[];
    readonly status: number | null;
    readonly signal: string | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RenderedPlan {
    /** The folder the CLI wrote (manifests.yaml, plan.json). Read it, never write into it. */
    readonly dir: string;
    readonly manifests: RenderedManifest[];
    readonly plan: PlanJson;
    /** The CLI's exit status and output for this rendering. */
    readonly run: CliRun;
}

const RUN_FILE = "cli-run.json";
/** manifests.yaml parsed once per render, beside cli-run.json: parsing the YAML took 0.2 s of CPU in each test file that read it. */
const PARSED_FILE = "manifests.json";

/** Spawns the real plan CLI with `args`, synchronously, bounded. */
export function runPlanCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliRun {
    const result = spawnSync(process.execPath, [...PLAN_COMMAND, ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? RENDER_TIMEOUT_MS,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
    });
    // A timeout shows as signal SIGKILL with status null; any other error means it never ran.
    if (result.error && (result.error as NodeJS.ErrnoException).code !== "ETIMEDOUT") {
        throw result.error;
    }
    return { args: [...args], status: result.status, signal: result.signal, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Spawns the real plan CLI with `args` without blocking, so that a test can run several at once; bounded. */
export function runPlanCliAsync(
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; /** node's arguments before `args` */ command?: readonly string[] } = {},
): Promise<CliRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...(options.command ?? PLAN_COMMAND), ...args], {
            cwd: PROJECT_DIR,
            env: { ...process.env, ...options.env },
            stdio: ["ignore", "pipe", "pipe"],
            detached: true, // its own process group: a timeout kills the CLI's pack and program host too
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => {
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                child.kill("SIGKILL");
            }
        }, options.timeoutMs ?? RENDER_TIMEOUT_MS);
        child.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.once("close", (status, signal) => {
            clearTimeout(timer);
            resolve({ args: [...args], status, signal, stdout, stderr });
        });
    });
}

/**
 * Renders `stack` into `<root>/<stack>` with the CLI and records how the run ended beside the plan
 * (cli-run.json in `root`, not in the CLI's own folder, which the CLI replaces as a whole).
 * Throws when the CLI wrote no plan (exit 2, crash, timeout); a policy verdict (exit 1) still
 * leaves a plan that tests can read, and the test on the CLI asserts the exit status.
 */
export function renderStack(root: string, stack: string): CliRun {
    const dir = path.join(root, stack);
    const run = runPlanCli(["--stack", stack, "--out", dir]);
    if (!fs.existsSync(path.join(dir, "manifests.yaml")) || !fs.existsSync(path.join(dir, "plan.json"))) {
        throw new Error(
            `the plan CLI wrote no plan for stack "${stack}" (exit ${run.status}, signal ${run.signal}):\n${run.stderr.trim() || run.stdout.trim()}`,
        );
    }
    fs.writeFileSync(path.join(root, `${stack}.${PARSED_FILE}`), JSON.stringify(parseManifests(fs.readFileSync(path.join(dir, "manifests.yaml"), "utf8"))));
    // Last: its presence says that the render is complete.
    fs.writeFileSync(path.join(root, `${stack}.${RUN_FILE}`), JSON.stringify(run, null, 2));
    return run;
}

/** Parses a multi-document manifests.yaml; any YAML error fails loudly. */
export function parseManifests(text: string): RenderedManifest[] {
    return parseAllDocuments(text).map((document, index) => {
        if (document.errors.length > 0) {
            throw new Error(`manifests.yaml document ${index}: ${document.errors.map((e) => e.message).join("; ")}`);
        }
        return document.toJS() as RenderedManifest;
    });
}

let workerRoot: string | undefined;
const cache = new Map<string, RenderedPlan>();

function rootDir(): string {
    const fromSetup = process.env[RENDERED_PLAN_ROOT_ENV];
    if (fromSetup) {
        return fromSetup;
    }
    if (workerRoot === undefined) {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-etcd-plan-"));
        workerRoot = root;
        // Inside jest, `process` is a per-file copy whose 'exit' never fires; the host's is the real one.
        (vm.runInThisContext("process") as NodeJS.Process).once("exit", () => fs.rmSync(root, { recursive: true, force: true }));
    }
    return workerRoot;
}

/**
 * The rendered plan of `stack`: `{ dir, manifests, plan, run }`. Each call returns fresh copies,
 * so a test may modify what it gets without disturbing others.
 */
export function renderedPlan(stack = "prod"): RenderedPlan {
    let cached = cache.get(stack);
    if (!cached) {
        const root = rootDir();
        const dir = path.join(root, stack);
        const runFile = path.join(root, `${stack}.${RUN_FILE}`);
        const run: CliRun = fs.existsSync(runFile) ? JSON.parse(fs.readFileSync(runFile, "utf8")) : renderStack(root, stack);
        cached = {
            dir,
            run,
            manifests: JSON.parse(fs.readFileSync(path.join(root, `${stack}.${PARSED_FILE}`), "utf8")) as RenderedManifest[],
            plan: JSON.parse(fs.readFileSync(path.join(dir, "plan.json"), "utf8")) as PlanJson,
        };
        cache.set(stack, cached);
    }
    return structuredClone(cached);
}

/**
 * The manifest of `kind` (and `name`, when given). Throws, listing what there is, when none or
 * (without a name) more than one matches, so a test never silently picks the wrong object.
 */
export function findManifest(manifests: readonly RenderedManifest[], kind: string, name?: string): RenderedManifest {
    const matches = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));
    if (matches.length !== 1) {
        const present = manifests.map((m) => `${m.kind}/${m.metadata?.name}`).join(", ");
        throw new Error(`expected exactly one ${kind}${name === undefined ? "" : ` named "${name}"`}, found ${matches.length}; manifests: ${present}`);
    }
    return matches[0];
}

/** Every manifest of `kind`. */
export function findManifests(manifests: readonly RenderedManifest[], kind: string): RenderedManifest[] {
    return manifests.filter((m) => m.kind === kind);
}

/** The plan.json resource of `type` (and `name`, when given); throws unless exactly one matches. */
export function findResource(plan: PlanJson, type: string, name?: string): PlannedResource {
    const matches = plan.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (matches.length !== 1) {
        throw new Error(
            `expected exactly one ${type}${name === undefined ? "" : ` named "${name}"`} in plan.json, found ${matches.length}; resources: ${plan.resources
                .map((r) => `${r.type}/${r.name}`)
                .join(", ")}`,
        );
    }
    return matches[0];
}
