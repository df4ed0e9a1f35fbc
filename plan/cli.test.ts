/**
 * The offline plan CLI as people and CI run it: a real process (`node -r plan/typescript-loader.js
 * plan/cli.ts`, as `npm run plan` starts it), its exit status (0 planned, 1 a mandatory policy
 * violated, 2 usage, config or program error), what it prints and what it writes. The prod run is
 * the one the global setup made (test/rendered-plan.ts); the other runs start together.
 * Every way a configuration can be wrong is covered through the loader in stacks/load.test.ts;
 * here only that the CLI reports such problems, with the right status, and touches nothing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, parseDocument } from "yaml";
import { CliRun, findResource, parseManifests, PLAN_COMMAND, PROJECT_DIR, renderedPlan, runPlanCliAsync } from "../test/rendered-plan";

jest.setTimeout(180_000);

/** A stack file: prod's own settings with `overrides` (config path -> value) set on top. */
function stackFile(dir: string, name: string, overrides: [path: string[], value: unknown][]): string {
    const document = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8"));
    for (const [keyPath, value] of overrides) {
        document.setIn(["config", ...keyPath], value);
    }
    const file = path.join(dir, name);
    fs.writeFileSync(file, document.toString());
    return file;
}

/** Every file under `dir` (relative path -> bytes), for byte-for-byte comparisons. */
function snapshot(dir: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const walk = (sub: string) => {
        for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
            const relative = path.join(sub, entry.name);
            if (entry.isDirectory()) walk(relative);
            else files.set(relative, fs.readFileSync(path.join(dir, relative)));
        }
    };
    walk("");
    return files;
}

describe("plan CLI on the prod stack (the global setup's run)", () => {
    const { dir, plan, manifests, run } = renderedPlan("prod");

    test("exits 0 and says what it wrote", () => {
        expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
        expect(run.stdout).toContain('Plan of stack "prod"');
        expect(run.stdout).toMatch(/Wrote .*manifests\.yaml and plan\.json/);
    });

    test("writes exactly manifests.yaml and plan.json", () => {
        expect(fs.readdirSync(dir).sort()).toEqual(["manifests.yaml", "plan.json"]);
    });

    test("plan.json has the documented shape", () => {
        const project = (parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { name: string }).name;
        expect(plan.stack).toBe("prod");
        expect(plan.project).toBe(project);
        expect(plan.resources.length).toBeGreaterThan(0);
        for (const resource of plan.resources) {
            expect(resource).toEqual(
                expect.objectContaining({
                    type: expect.stringMatching(/^[\w-]+:[\w./-]*:\w+$|^pulumi:providers:\w+$/),
                    name: expect.any(String),
                    urn: expect.stringMatching(new RegExp(`^urn:pulumi:prod::${project}::`)),
                    custom: expect.any(Boolean),
                    inputs: expect.any(Object),
                    options: expect.objectContaining({ protect: expect.any(Boolean) }),
                }),
            );
            expect(resource.urn.endsWith(`::${resource.name}`)).toBe(true);
        }
        expect(Array.isArray(plan.policies.violations)).toBe(true);
        expect(plan.policies.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    });

    test("manifests.yaml holds the Kubernetes resources of plan.json, one document each", () => {
        // Patches (of the claims' size) are no objects of their own (plan/manifests.ts).
        const kubernetes = plan.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.endsWith("Patch"));
        expect(manifests).toHaveLength(kubernetes.length);
        const key = (m: { apiVersion: string; kind: string; metadata: { namespace?: string; name?: string } }) =>
            `${m.apiVersion} ${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name}`;
        expect(manifests.map(key).sort()).toEqual(kubernetes.map((r) => key(r.inputs as never)).sort());
        for (const resource of kubernetes) {
            // The manifest is the resource's inputs (what `pulumi up` would send), not a re-render.
            expect(manifests).toContainEqual(resource.inputs);
        }
    });

    test("the namespace and the StatefulSet are protected in the plan", () => {
        expect(findResource(plan, "kubernetes:core/v1:Namespace").options.protect).toBe(true);
        expect(findResource(plan, "kubernetes:apps/v1:StatefulSet", "apisix-etcd").options.protect).toBe(true);
    });
});

describe("plan CLI refusals", () => {
    const SECRET_CIPHERTEXT = "v1:Q2lwaGVydGV4dE5ldmVyVG9CZVByaW50ZWQ=";
    let work: string;
    let previousOut: string;
    let previousFiles: Map<string, Buffer>;
    let previousSiblings: string[];
    let brokenProject: string;
    let brokenLine: number;
    const runs: Record<string, CliRun> = {};
    const outs: Record<string, string> = {};

    beforeAll(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-"));
        // An output folder from an earlier plan, which a failed run must leave exactly as it is.
        previousOut = path.join(work, "previous", "prod");
        fs.mkdirSync(path.join(previousOut, "extra"), { recursive: true });
        fs.writeFileSync(path.join(previousOut, "manifests.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: old\n");
        fs.writeFileSync(path.join(previousOut, "plan.json"), '{"stack":"prod","resources":[]}\n');
        fs.writeFileSync(path.join(previousOut, "extra", "notes.txt"), Buffer.from([0, 1, 2, 255]));
        previousFiles = snapshot(previousOut);
        previousSiblings = fs.readdirSync(path.dirname(previousOut));

        const badConfig = stackFile(work, "Pulumi.bad.yaml", [
            [["apisix-etcd:quotaBackendBytes"], "64Gi"],
            [["apisix-etcd:storageClass"], "fast"],
            [["apisix-etcd:backup", "schedule"], "99 * * * *"],
            [["apisix-etcd:tls"], { mode: "cert-manager" }],
            [["apisix-etcd:auth", "apisixPrefix"], "apisix/"],
        ]);
        const syntaxError = path.join(work, "Pulumi.syntax.yaml");
        fs.writeFileSync(syntaxError, "config:\n  apisix-etcd:replicas: [3\n  apisix-etcd:image: x\n");
        // Even replicas in prod break a mandatory policy; secure values of providers ride along.
        const violating = stackFile(work, "Pulumi.violating.yaml", [
            [["apisix-etcd:replicas"], 4],
            [["gcp:credentials"], { secure: SECRET_CIPHERTEXT }],
            [["kubernetes:kubeconfig"], { secure: SECRET_CIPHERTEXT }],
        ]);
        for (const name of ["missingFile", "syntax", "unknownFlag", "violating"]) {
            outs[name] = path.join(work, "out", name);
        }

        // A copy of the project whose EtcdCluster throws, as a user's mistake in a component would.
        brokenProject = path.join(work, "broken");
        for (const entry of ["Pulumi.yaml", "Pulumi.prod.yaml", "index.ts", "package.json", "tsconfig.json", "components", "stacks", "plan", "policies"]) {
            fs.cpSync(path.join(PROJECT_DIR, entry), path.join(brokenProject, entry), { recursive: true, filter: (source) => !source.endsWith(".test.ts") });
        }
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(brokenProject, "node_modules"));
        const cluster = path.join(brokenProject, "components", "etcd", "cluster.ts");
        const lines = fs.readFileSync(cluster, "utf8").split("\n");
        brokenLine = lines.findIndex((line) => line.includes("super(")) + 2;
        lines.splice(brokenLine - 1, 0, '        if (args.replicas > 0) throw new Error("a mistake in the cluster component");');
        fs.writeFileSync(cluster, lines.join("\n"));

        const started = {
            brokenProgram: runPlanCliAsync(["--stack", "prod", "--out", path.join(work, "out", "broken")], { command: PLAN_COMMAND.map((part) => part.replace(PROJECT_DIR, brokenProject)) }),
            badConfig: runPlanCliAsync(["--stack", "prod", "--config-file", badConfig, "--out", previousOut]),
            missingFile: runPlanCliAsync(["--stack", "prod", "--config-file", path.join(work, "Pulumi.absent.yaml"), "--out", outs.missingFile]),
            syntax: runPlanCliAsync(["--stack", "prod", "--config-file", syntaxError, "--out", outs.syntax]),
            unknownFlag: runPlanCliAsync(["--stack", "prod", "--out", outs.unknownFlag, "--dry-run"]),
            violating: runPlanCliAsync(["--stack", "prod", "--config-file", violating, "--out", outs.violating]),
        };
        for (const [name, run] of Object.entries(started)) {
            runs[name] = await run;
        }
    });

    afterAll(() => {
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("a bad configuration: exit 2, every bad key named on stderr", () => {
        const { status, stderr, stdout } = runs.badConfig;
        expect(status).toBe(2);
        expect(stderr).toContain("invalid stack configuration (5 problems)");
        expect(stderr).toMatch(/apisix-etcd:quotaBackendBytes: .*at most 8Gi/);
        expect(stderr).toMatch(/apisix-etcd:storageClass: unknown key/);
        expect(stderr).toMatch(/apisix-etcd:backup\.schedule: expected a cron schedule/);
        expect(stderr).toMatch(/apisix-etcd:tls\.issuer: expected the cert-manager issuer .* with mode "cert-manager"/);
        expect(stderr).toMatch(/apisix-etcd:auth\.apisixPrefix: expected a key prefix that is a path such as "\/apisix".*got "apisix\/"/);
        expect(stdout).not.toContain("Wrote");
    });

    test("a program error: exit 2, the error and the TypeScript file and line that threw it", () => {
        const { status, stderr } = runs.brokenProgram;
        expect(status).toBe(2);
        expect(stderr).toContain("plan failed: a mistake in the cluster component");
        expect(stderr).toMatch(new RegExp(`^    at new EtcdCluster \\(components/etcd/cluster\\.ts:${brokenLine}:\\d+\\)$`, "m"));
        expect(fs.existsSync(path.join(work, "out", "broken"))).toBe(false);
    });

    test("a failed run leaves the previous output folder byte for byte, and no staging folder beside it", () => {
        expect(runs.badConfig.status).toBe(2);
        expect(snapshot(previousOut)).toEqual(previousFiles);
        expect(fs.readdirSync(path.dirname(previousOut))).toEqual(previousSiblings);
    });

    test.each([
        ["missingFile", /cannot read the stack file .*Pulumi\.absent\.yaml: ENOENT/],
        ["syntax", /Pulumi\.syntax\.yaml is not valid YAML/],
        ["unknownFlag", /--dry-run[\s\S]*usage: npm run plan/],
    ])("%s: exit 2 with the reason on stderr, nothing written", (name, reason) => {
        const { status, stderr } = runs[name];
        expect({ status, stderr }).toEqual({ status: 2, stderr: expect.stringMatching(reason) });
        expect(fs.existsSync(outs[name])).toBe(false);
    });

    test("a mandatory policy violation: exit 1, and the plan is still written with the verdict", () => {
        const { status, stdout } = runs.violating;
        expect(status).toBe(1);
        expect(stdout).toMatch(/\[mandatory\]/);
        const plan = JSON.parse(fs.readFileSync(path.join(outs.violating, "plan.json"), "utf8"));
        const mandatory = plan.policies.violations.filter((v: { enforcementLevel: string }) => v.enforcementLevel === "mandatory");
        expect(mandatory.length).toBeGreaterThan(0);
        expect(mandatory.map((v: { resourceType?: string }) => v.resourceType)).toContain("kubernetes:apps/v1:StatefulSet");
        const statefulSet = parseManifests(fs.readFileSync(path.join(outs.violating, "manifests.yaml"), "utf8")).find((m) => m.kind === "StatefulSet");
        expect(statefulSet?.spec.replicas).toBe(4);
    });

    test("a secure: config value appears in no output, in clear or as ciphertext", () => {
        const run = runs.violating;
        expect(run.status).not.toBe(2); // the secrets were accepted, and the plan written
        const written = [...snapshot(outs.violating).values()].map((bytes) => bytes.toString("utf8"));
        expect(written.length).toBe(2);
        for (const text of [run.stdout, run.stderr, ...written]) {
            expect(text).not.toContain(SECRET_CIPHERTEXT);
            expect(text).not.toContain("Q2lwaGVydGV4dE5ldmVyVG9CZVByaW50ZWQ");
            expect(text).not.toContain("CiphertextNeverToBePrinted"); // its base64 decoded
        }
    });
});
