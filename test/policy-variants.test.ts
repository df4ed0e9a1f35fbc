import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { PolicyPackProcess } from "../plan/policy-pack-process";
import { planStacksInChild } from "../plan/program-process";
import type { StackPlan } from "../plan/stack-plan";

/**
 * End to end: each variant of the prod stack runs through the real program and the real pack, as
 * `npm run plan` runs them (the pack loaded beside the program, two program hosts planning half of
 * the variants each). The same pack started exactly as `pulumi preview --policy-pack` starts it
 * (`run-policy-pack`, type-checked, over the analyzer protocol) judges the resources of a few
 * variants again, and must say the same: outside production, tagged production, blocked, passing.
 * (Each judgement over gRPC costs half a second of CPU; the verdicts of the others come from the same code.)
 */

const PROJECT_DIR = path.resolve(__dirname, "..");
const VARIANTS_DIR = path.join(__dirname, "stack-variants");

interface Variant {
    readonly file: string;
    readonly stack: string;
    readonly tags: Record<string, string>;
    readonly expect: string;
    readonly configFile: string;
}

function header(text: string, key: string): string | undefined {
    return new RegExp(`^# ${key}: (.+)$`, "m").exec(text)?.[1].trim();
}

function variants(workDir: string): Variant[] {
    const prod = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
    // The prod stack's own verdict is the global setup's run of the plan CLI (plan/cli.test.ts: exit 0).
    const shipped = ["dev"].map((stack) => ({
        file: `Pulumi.${stack}.yaml`,
        stack,
        tags: {},
        expect: "pass",
        configFile: path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`),
    }));
    return fs
        .readdirSync(VARIANTS_DIR)
        .filter((file) => file.endsWith(".yaml"))
        .map((file) => {
            const text = fs.readFileSync(path.join(VARIANTS_DIR, file), "utf8");
            const change = parse(text) as { config: Record<string, unknown> };
            const configFile = path.join(workDir, file);
            fs.writeFileSync(configFile, stringify({ config: { ...prod.config, ...change.config } }));
            const tags = Object.fromEntries((header(text, "tags") ?? "").split(/\s+/).filter(Boolean).map((tag) => tag.split("=") as [string, string]));
            return { file, stack: header(text, "stack") ?? "prod", tags, expect: header(text, "expect") ?? "", configFile };
        })
        .concat(shipped);
}

/** The variants judged by the pack over gRPC too. */
const JUDGED_OVER_GRPC = ["Pulumi.dev.yaml", "unsafe-tagged-production-staging.yaml", "unsafe-replicas-4.yaml", "safe-replicas-5.yaml"];

/** Every variant runs the whole program: generous bounds for a loaded two-core machine. */
const PLAN_TIMEOUT_MS = 240_000;

const mandatory = (plan: StackPlan) => plan.violations.filter((violation) => violation.enforcementLevel === "mandatory");

describe("the policy pack judges variants of the prod stack", () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "variants-"));
    const all = variants(workDir);
    const packDir = path.join(PROJECT_DIR, "policies");
    let pack: PolicyPackProcess;
    const plans = new Map<string, Promise<StackPlan>>();

    beforeAll(() => {
        pack = new PolicyPackProcess(packDir);
        // Two program hosts (two cores), each planning half of the variants one after the other.
        const halves = [all.filter((_, index) => index % 2 === 0), all.filter((_, index) => index % 2 === 1)];
        for (const half of halves) {
            const planned = planStacksInChild(half, { projectDir: PROJECT_DIR, packDir });
            half.forEach((variant, index) =>
                plans.set(
                    variant.file,
                    planned.then((results) => {
                        const result = results[index];
                        if (result instanceof Error) {
                            throw result;
                        }
                        return result;
                    }),
                ),
            );
        }
    });

    afterAll(async () => {
        await Promise.allSettled(plans.values());
        await pack.stop();
        fs.rmSync(workDir, { recursive: true, force: true });
    }, PLAN_TIMEOUT_MS);

    it("has at least 12 unsafe variants, and safe ones beside the shipped stacks", () => {
        expect(all.filter((variant) => variant.file.startsWith("unsafe-")).length).toBeGreaterThanOrEqual(12);
        expect(all.filter((variant) => variant.file.startsWith("safe-")).length).toBeGreaterThanOrEqual(2);
    });

    it("run-policy-pack serves every rule module of policies/rules, with its declared enforcement level", async () => {
        const info = await pack.info();
        const served = Object.fromEntries(info.getPoliciesList().map((policy) => [policy.getName(), policy.getEnforcementlevel()]));
        const declared = fs
            .readdirSync(path.join(PROJECT_DIR, "policies", "rules"))
            .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
            .flatMap((file) => Object.values(require(path.join(PROJECT_DIR, "policies", "rules", file)) as Record<string, unknown>))
            .filter((value): value is { name: string; enforcementLevel: string } => typeof value === "object" && value !== null && "name" in value);
        expect(Object.keys(served).sort()).toEqual(declared.map((policy) => policy.name).sort());
        const levels = ["advisory", "mandatory", "disabled", "remediate"];
        for (const policy of declared) {
            expect(levels[served[policy.name]]).toBe(policy.enforcementLevel);
        }
    }, PLAN_TIMEOUT_MS);

    it.each(all.filter((variant) => variant.expect !== "pass").map((variant) => [variant.file, variant]))(
        "%s is blocked by the policy it names",
        async (file, variant) => {
            const plan = await plans.get(file as string)!;
            expect(mandatory(plan).map((violation) => violation.policyName)).toContain((variant as Variant).expect);
        },
        PLAN_TIMEOUT_MS,
    );

    it.each(all.filter((variant) => variant.expect === "pass").map((variant) => [variant.file]))("%s passes every mandatory policy", async (file) => {
        const plan = await plans.get(file)!;
        expect(mandatory(plan)).toEqual([]);
    }, PLAN_TIMEOUT_MS);

    it("judges over gRPC variants that exist", () => {
        expect(all.map((variant) => variant.file)).toEqual(expect.arrayContaining(JUDGED_OVER_GRPC));
    });

    it.each(all.filter((variant) => JUDGED_OVER_GRPC.includes(variant.file)).map((variant) => [variant.file, variant]))(
        "%s: the pack started by run-policy-pack, over gRPC, reports exactly what the plan reports",
        async (file, variant) => {
            const plan = await plans.get(file as string)!;
            const { stack, tags } = variant as Variant;
            const overGrpc = await pack.judge({ stack, project: plan.project, tags }, {}, plan.resources);
            expect(overGrpc).toEqual(plan.violations);
        },
        PLAN_TIMEOUT_MS,
    );
});
