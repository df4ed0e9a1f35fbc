/**
 * Growing the members' volumes from config (storage.size), under Pulumi's mock runtime: the same cluster
 * declared before and after a change, and the StatefulSet compared as the engine compares it, that is with
 * the registration's ignoreChanges paths taken from the previous inputs. A change that leaves the
 * StatefulSet's inputs equal is no update at all: no replacement, no new pod template, no member restart.
 */
import { RegisteredResource } from "../../plan/recording-monitor";
import { PROD_CLUSTER_ARGS } from "../../test/cluster-args";
import { declareUnderMocks } from "../../test/component-mocks";
import { EtcdCluster, EtcdClusterArgs } from "./cluster";

const base = PROD_CLUSTER_ARGS;

const declare = (args: EtcdClusterArgs) => declareUnderMocks(() => new EtcdCluster("cluster", args));

const statefulSetOf = (resources: readonly RegisteredResource[]) => resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet")!;
const claimPatchesOf = (resources: readonly RegisteredResource[]) => resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaimPatch");

/** `spec.volumeClaimTemplates[0].spec` -> ["spec", "volumeClaimTemplates", 0, "spec"], as Pulumi's property paths read. */
function pathSegments(path: string): (string | number)[] {
    return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map(([, key, index]) => (index === undefined ? key : Number(index)));
}

/** `inputs` with the value at each of `paths` taken from `previous`, as the engine applies ignoreChanges to an update. */
function withIgnoredChanges(inputs: unknown, previous: unknown, paths: readonly string[]): any {
    const result = structuredClone(inputs) as any;
    for (const path of paths) {
        const segments = pathSegments(path);
        const last = segments.pop()!;
        const parentOf = (root: any) => segments.reduce((node, segment) => node?.[segment], root);
        const target = parentOf(result);
        const source = parentOf(previous);
        if (target === undefined || source === undefined || !(last in source)) {
            throw new Error(`ignoreChanges path ${path} is not in the StatefulSet's inputs`);
        }
        target[last] = source[last];
    }
    return result;
}

/** How the StatefulSet the engine would apply after `before` differs from `before`'s, as "path: old -> new" lines. */
function statefulSetChanges(before: readonly RegisteredResource[], after: readonly RegisteredResource[]): string[] {
    const old = statefulSetOf(before);
    const next = statefulSetOf(after);
    const applied = withIgnoredChanges(next.inputs, old.inputs, next.options.ignoreChanges);
    const changes: string[] = [];
    const compare = (a: unknown, b: unknown, path: string) => {
        if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
            for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) compare((a as any)[key], (b as any)[key], path ? `${path}.${key}` : key);
        } else if (a !== b) {
            changes.push(`${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
        }
    };
    compare(old.inputs, applied, "");
    return changes;
}

let created: RegisteredResource[];
let grown: RegisteredResource[];
let scaled: RegisteredResource[];
let grownAndScaled: RegisteredResource[];
let otherClass: RegisteredResource[];

beforeAll(async () => {
    created = await declare(base);
    grown = await declare({ ...base, storage: { ...base.storage, size: "30Gi" } });
    scaled = await declare({ ...base, replicas: 5 });
    grownAndScaled = await declare({ ...base, replicas: 5, storage: { ...base.storage, size: "30Gi" } });
    otherClass = await declare({ ...base, storage: { ...base.storage, className: "premium-rwo" } });
});

test("a new cluster's claim template and claims get the configured size", () => {
    expect((statefulSetOf(created).inputs as any).spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("20Gi");
    expect(claimPatchesOf(created).map((r) => (r.inputs as any).spec.resources.requests.storage)).toEqual(["20Gi", "20Gi", "20Gi"]);
});

test("a larger size leaves the StatefulSet as it is: no replacement, no new pod template", () => {
    expect(statefulSetChanges(created, grown)).toEqual([]);
    // Only the claim template's size is ignored, nothing else of the StatefulSet.
    expect(statefulSetOf(grown).options.ignoreChanges).toEqual(["spec.volumeClaimTemplates[0].spec.resources.requests.storage"]);
    expect(statefulSetOf(grown).options.protect).toBe(true);
});

test("a larger size patches each member's claim, after the StatefulSet, keeping the claim when a member goes", () => {
    const statefulSet = statefulSetOf(grown);
    expect(claimPatchesOf(grown).map((r) => r.inputs)).toEqual(
        [0, 1, 2].map((ordinal) => ({
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: `data-apisix-etcd-${ordinal}`, namespace: "etcd", annotations: { "pulumi.com/patchForce": "true" } },
            spec: { resources: { requests: { storage: "30Gi" } } },
        })),
    );
    for (const patch of claimPatchesOf(grown)) {
        expect(patch.options.dependsOn).toContain(statefulSet.urn);
        expect(patch.options.retainOnDelete).toBe(true);
        expect(patch.parent).toBe(statefulSet.parent);
    }
});

test("the claims patched are the ones the StatefulSet's template makes", () => {
    const sts = statefulSetOf(grown).inputs as any;
    const made = [0, 1, 2].map((ordinal) => `${sts.spec.volumeClaimTemplates[0].metadata.name}-${sts.metadata.name}-${ordinal}`);
    expect(claimPatchesOf(grown).map((r) => (r.inputs as any).metadata.name)).toEqual(made);
});

test("members added after a resize: their claims, made with the template's first size, are patched to the new one", () => {
    expect(statefulSetChanges(scaled, grownAndScaled)).toEqual([]);
    expect(claimPatchesOf(grownAndScaled).map((r) => [(r.inputs as any).metadata.name, (r.inputs as any).spec.resources.requests.storage])).toEqual(
        [0, 1, 2, 3, 4].map((ordinal) => [`data-apisix-etcd-${ordinal}`, "30Gi"]),
    );
});

test("another storage class still changes the claim template (moving data is no resize; protect stops it)", () => {
    expect(statefulSetChanges(created, otherClass)).toEqual(['spec.volumeClaimTemplates.0.spec.storageClassName: "apisix-etcd-ssd" -> "premium-rwo"']);
});

test("the comparison sees a changed claim template, so the checks above can fail", () => {
    const unignored = grown.map((r) => (r === statefulSetOf(grown) ? { ...r, options: { ...r.options, ignoreChanges: [] } } : r));
    expect(statefulSetChanges(created, unignored)).toEqual(['spec.volumeClaimTemplates.0.spec.resources.requests.storage: "20Gi" -> "30Gi"']);
});
