// The generated credentials of the rendered prod stack (test/rendered-plan.ts: what `npm run plan`
// wrote and printed) never appear in clear: the plan stands in for each password and key with a
// value (plan/program-run.ts), and this test looks for exactly those values everywhere the plan
// writes or prints.
import * as fs from "fs";
import * as path from "path";
import { generatedOutputs } from "../../plan/program-run";
import { REDACTED } from "../../plan/secrets";
import { renderedPlan } from "../rendered-plan";

const GENERATED = ["random:index/randomPassword:RandomPassword", "tls:index/privateKey:PrivateKey"];

describe("the rendered prod plan keeps the generated credentials secret", () => {
    const { dir, manifests, plan, run } = renderedPlan("prod");
    const generated = plan.resources.filter((resource) => GENERATED.includes(resource.type));
    const secretValues = generated.flatMap((resource) => {
        const outputs = generatedOutputs(resource.type, resource.name);
        // A key pair's public half is no secret.
        return Object.entries(outputs).filter(([key]) => key !== "publicKeyPem").map(([, value]) => value);
    });

    test("the stack generates a password per user and the private keys", () => {
        expect(generated.filter((r) => r.type.startsWith("random:")).map((r) => r.name).sort()).toEqual(
            ["apisix", "backup", "defrag", "membership", "root"].map((user) => `apisix-etcd-credentials-${user}`),
        );
        expect(secretValues.length).toBeGreaterThanOrEqual(4 + 2);
    });

    test.each([
        ["manifests.yaml", () => fs.readFileSync(path.join(dir, "manifests.yaml"), "utf8"), true],
        ["plan.json", () => fs.readFileSync(path.join(dir, "plan.json"), "utf8"), true],
        ["the printed summary", () => run.stdout, true],
        ["the log", () => run.stderr, false],
    ])("none of them is in %s", (_, text, written) => {
        const content = text();
        if (written) expect(content.length).toBeGreaterThan(0);
        for (const value of secretValues) expect(content.includes(value.trim())).toBe(false);
    });

    test("every Secret's data is shown as redacted, in either namespace", () => {
        const secrets = manifests.filter((manifest) => manifest.kind === "Secret");
        expect(secrets.map((secret) => `${secret.metadata.namespace}/${secret.metadata.name}`).sort()).toEqual([
            "apisix/apisix-etcd-credentials",
            "etcd/apisix-etcd-tls",
            "etcd/apisix-etcd-token-key",
            "etcd/apisix-etcd-user-apisix",
            "etcd/apisix-etcd-user-backup",
            "etcd/apisix-etcd-user-defrag",
            "etcd/apisix-etcd-user-membership",
            "etcd/apisix-etcd-user-root",
        ]);
        const keys: Record<string, string[]> = {
            "apisix-etcd-credentials": ["host", "password", "prefix", "username"],
            "apisix-etcd-tls": ["ca.crt", "tls.crt", "tls.key"],
            "apisix-etcd-token-key": ["jwt.key", "jwt.pub"],
        };
        for (const secret of secrets) {
            const name = secret.metadata.name!;
            const expected = Object.fromEntries((keys[name] ?? ["password", "username"]).map((key) => [key, REDACTED]));
            expect({ name, stringData: secret.stringData, data: secret.data }).toEqual({ name, stringData: expected, data: undefined });
        }
    });
});
