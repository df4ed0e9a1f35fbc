/**
 * Every object of the rendered prod manifests.yaml is one the Kubernetes API server accepts, as far
 * as its OpenAPI schema goes: types, enums and formats through kubernetes-models' validate() (run in
 * a child process: the package is ESM only and TypeScript compiles import() to require() for CommonJS), and field
 * names through the TypeScript declarations generated from the same schema (validate() does not
 * reject unknown fields). Custom resources without a model are checked for apiVersion, kind and
 * metadata.name only. Deliberately broken objects prove each check rejects what it should.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { findManifest, renderedPlan, RenderedManifest } from "./rendered-plan";
import { UnknownField, unknownFields } from "./kubernetes-schema/unknown-fields";

jest.setTimeout(60_000);

/** Groups of custom resources the stack may create although kubernetes-models has no model for them. */
const CUSTOM_RESOURCE_GROUPS = ["snapshot.storage.k8s.io", "monitoring.googleapis.com"];

interface Validation {
    index: number;
    apiVersion: string;
    kind: string;
    name: string;
    /** The kubernetes-models module used, or null for a custom resource. */
    model: string | null;
    errors: string[];
}

function validate(manifests: readonly unknown[]): Validation[] {
    const result = spawnSync(process.execPath, [path.join(__dirname, "kubernetes-schema", "validate.mjs")], {
        cwd: path.resolve(__dirname, ".."),
        input: JSON.stringify(manifests),
        encoding: "utf8",
        timeout: 30_000,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) {
        throw new Error(`validate.mjs exited ${result.status} (${result.signal}): ${result.stderr}`);
    }
    return JSON.parse(result.stdout) as Validation[];
}

const label = (m: { kind: string; name: string }) => `${m.kind}/${m.name}`;

describe("the rendered prod manifests against the Kubernetes API schema", () => {
    let manifests: RenderedManifest[];
    let broken: RenderedManifest[];
    let results: Validation[];
    let misspelled: any;
    let unknown: UnknownField[];

    beforeAll(() => {
        manifests = renderedPlan().manifests;
        const statefulSet = findManifest(manifests, "StatefulSet", "apisix-etcd");
        const clone = (): any => structuredClone(statefulSet);
        const badReplicas = clone();
        badReplicas.spec.replicas = "three";
        const badQuantity = clone();
        badQuantity.spec.template.spec.containers[0].resources = { limits: { memory: "2 GB" } };
        const badEnum = clone();
        badEnum.spec.podManagementPolicy = "AllAtOnce";
        const badKind = { ...clone(), kind: "StatefulSets" };
        const badCustom = { apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshotClass", metadata: { name: "Not_A_Name" }, driver: "x", deletionPolicy: "Retain" };
        broken = [badReplicas, badQuantity, badEnum, badKind, badCustom];
        results = validate([...manifests, ...broken]);

        // One TypeScript program for both the rendered objects and the misspelled one (building it takes seconds).
        misspelled = structuredClone(statefulSet);
        misspelled.spec.replica = 3;
        misspelled.spec.template.spec.containers[0].imagePullPolicyy = "Always";
        misspelled.spec.template.spec.initContainers[0].env[0].valueFrom.fieldRef.fieldpath = "metadata.name";
        misspelled.spec.template.spec.securityContext.runAsNonroot = true;
        misspelled.spec.volumeClaimTemplates[0].spec.storageClass = "ssd";
        misspelled.spec.template.spec.terminationGracePeriod = 60;
        misspelled.metadata.labels["example.com/any-label"] = "fine"; // a map
        misspelled.spec.selector.matchLabels["another"] = "fine"; // a map
        const models = manifests.map((m, index) => (results[index].model ? { module: results[index].model!, kind: m.kind } : undefined));
        unknown = unknownFields([...manifests, misspelled], [...models, { module: "kubernetes-models/apps/v1/StatefulSet", kind: "StatefulSet" }]);
    });

    test("every rendered object validates, with a model unless it is a known custom resource", () => {
        const rendered = results.slice(0, manifests.length);
        expect(rendered.map((r) => [label(r), r.errors])).toEqual(manifests.map((m) => [`${m.kind}/${m.metadata.name}`, []]));
        for (const result of rendered.filter((r) => r.model === null)) {
            // A null model means kubernetes-models does not know the group-version: only CRDs we expect may do that.
            expect(CUSTOM_RESOURCE_GROUPS).toContain(result.apiVersion.split("/")[0]);
        }
        // The core of the stack is checked with real models, not waved through as custom resources.
        const modelled = rendered.filter((r) => r.model !== null).map((r) => r.kind);
        expect(modelled).toEqual(expect.arrayContaining(["Namespace", "StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"]));
    });

    test("the validator rejects broken objects, naming the field", () => {
        const [replicas, quantity, enumValue, kind, custom] = results.slice(manifests.length);
        expect(replicas.errors.join()).toMatch(/\/spec\/replicas must be integer/);
        expect(quantity.errors.join()).toMatch(/\/spec\/template\/spec\/containers\/0\/resources\/limits\/memory must match format "quantity"/);
        expect(enumValue.errors.join()).toMatch(/\/spec\/podManagementPolicy must be equal to one of the allowed values/);
        expect(kind.errors).toEqual(["apps/v1 has no kind StatefulSets"]);
        expect(custom.model).toBeNull();
        expect(custom.errors.join()).toMatch(/metadata\.name "Not_A_Name" is not a DNS subdomain/);
    });

    test("no rendered object has a field the API does not define", () => {
        const rendered = unknown.filter((f) => f.index < manifests.length);
        expect(rendered.map((f) => `${manifests[f.index].kind}/${manifests[f.index].metadata.name}${f.path}`)).toEqual([]);
    });

    test("misspelled or misplaced fields are found at any depth, while maps take any key", () => {
        const found = unknown.filter((f) => f.index === manifests.length);
        expect(found.map((f) => f.path).sort()).toEqual(
            [
                "/spec/replica",
                "/spec/template/spec/containers/0/imagePullPolicyy",
                "/spec/template/spec/initContainers/0/env/0/valueFrom/fieldRef/fieldpath",
                "/spec/template/spec/securityContext/runAsNonroot",
                "/spec/volumeClaimTemplates/0/spec/storageClass",
                "/spec/template/spec/terminationGracePeriod",
            ].sort(),
        );
        expect(found.find((f) => f.path === "/spec/replica")!.allowed).toContain("replicas");
    });
});
