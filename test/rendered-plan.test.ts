import * as fs from "fs";
import * as path from "path";
import { findManifest, findResource, renderedPlan } from "./rendered-plan";

describe("renderedPlan (the prod stack rendered once by the global setup)", () => {
    test("reads the files the CLI wrote into its folder", () => {
        const { dir, manifests, plan } = renderedPlan();
        expect(fs.readdirSync(dir).sort()).toEqual(["manifests.yaml", "plan.json"]);
        expect(plan.stack).toBe("prod");
        const documents = fs.readFileSync(path.join(dir, "manifests.yaml"), "utf8").split(/^---$/m);
        expect(manifests).toHaveLength(documents.length);
        expect(manifests.every((m) => typeof m.kind === "string" && typeof m.apiVersion === "string")).toBe(true);
    });

    test("hands each caller its own copy", () => {
        const first = renderedPlan();
        findManifest(first.manifests, "StatefulSet", "apisix-etcd").spec.replicas = 99;
        first.plan.resources.length = 0;
        const second = renderedPlan();
        expect(findManifest(second.manifests, "StatefulSet", "apisix-etcd").spec.replicas).not.toBe(99);
        expect(second.plan.resources.length).toBeGreaterThan(0);
    });

    test("findManifest and findResource refuse missing and ambiguous matches", () => {
        const { manifests, plan } = renderedPlan();
        expect(() => findManifest(manifests, "StatefulSet", "no-such-name")).toThrow(/found 0.*StatefulSet\/apisix-etcd/);
        expect(() => findManifest(manifests, "Service")).toThrow(/exactly one Service, found [2-9]/);
        expect(findManifest(manifests, "Namespace", "etcd").metadata.name).toBe("etcd");
        expect(() => findResource(plan, "kubernetes:core/v1:Service")).toThrow(/found [2-9]/);
        expect(findResource(plan, "kubernetes:apps/v1:StatefulSet", "apisix-etcd").custom).toBe(true);
    });
});
