/**
 * manifests.yaml: the Kubernetes objects among the registered resources, in an order that applies
 * to an empty cluster, with every Pulumi secret redacted.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments } from "yaml";
import { findManifest, renderedPlan } from "../test/rendered-plan";
import { kubernetesManifests, Manifest, manifestsYaml } from "./manifests";
import { RecordingMonitor, RegisteredResource } from "./recording-monitor";
import { REDACTED, redactSecrets } from "./secrets";

const sdkSettings: { awaitFeatureSupport(): Promise<void>; waitForRPCs(): Promise<void> } = require("@pulumi/pulumi/runtime/settings");
const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc") as { specialSigKey: string; specialSecretSig: string };

/** A registration as the RecordingMonitor records it. */
function registered(type: string, name: string, inputs: Record<string, unknown>, custom = true): RegisteredResource {
    return {
        urn: `urn:pulumi:test::p::${type}::${name}`,
        type,
        name,
        custom,
        parent: "",
        inputs,
        options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], dependsOn: [] },
    };
}
const k8sObject = (apiVersion: string, kind: string, name: string, extra: Record<string, unknown> = {}) =>
    registered(`kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`, name, { apiVersion, kind, metadata: { name, namespace: "ns" }, ...extra });
const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

describe("kubernetesManifests", () => {
    // Registered in an order that would fail on an empty cluster.
    const resources = [
        registered("apisix-etcd:index:EtcdCluster", "component", {}, false),
        k8sObject("batch/v1", "CronJob", "backup"),
        registered("kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "snapclass", { apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshotClass", metadata: { name: "snapclass" } }),
        k8sObject("apps/v1", "StatefulSet", "etcd"),
        k8sObject("v1", "Service", "client"),
        registered("gcp:storage/bucket:Bucket", "bucket", { name: "bucket" }),
        registered("pulumi:providers:kubernetes", "default", { kubeconfig: "x" }),
        k8sObject("v1", "ServiceAccount", "members"),
        k8sObject("storage.k8s.io/v1", "StorageClass", "ssd"),
        k8sObject("v1", "Service", "headless"),
        k8sObject("policy/v1", "PodDisruptionBudget", "quorum"),
        registered("kubernetes:core/v1:Namespace", "ns", { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } }),
        k8sObject("rbac.authorization.k8s.io/v1", "RoleBinding", "binding"),
        k8sObject("rbac.authorization.k8s.io/v1", "Role", "role"),
        k8sObject("networking.k8s.io/v1", "NetworkPolicy", "ingress"),
        // Only some fields of a claim the StatefulSet makes: applied alone, a partial claim.
        registered("kubernetes:core/v1:PersistentVolumeClaimPatch", "grow", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data-etcd-0", namespace: "ns" }, spec: { resources: { requests: { storage: "20Gi" } } } }),
    ];
    const order = kubernetesManifests(resources).map((m) => `${m.kind}/${m.metadata.name}`);

    test("keeps only Kubernetes objects: no components, providers, other clouds' resources or patches", () => {
        expect(order).toHaveLength(12);
        expect(order.some((o) => /component|bucket|default|PersistentVolumeClaim/.test(o))).toBe(false);
    });

    test("puts what others refer to first, and custom resources last", () => {
        const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
        expect(order[0]).toBe("Namespace/ns");
        before("ServiceAccount/members", "StatefulSet/etcd");
        before("ServiceAccount/members", "CronJob/backup");
        before("ServiceAccount/members", "RoleBinding/binding");
        before("Role/role", "RoleBinding/binding");
        before("StorageClass/ssd", "StatefulSet/etcd");
        before("Service/headless", "StatefulSet/etcd");
        before("NetworkPolicy/ingress", "StatefulSet/etcd"); // no pod runs unguarded
        before("PodDisruptionBudget/quorum", "StatefulSet/etcd");
        expect(order[order.length - 1]).toBe("VolumeSnapshotClass/snapclass");
    });

    test("objects of one kind keep their registration order", () => {
        expect(order.filter((o) => o.startsWith("Service/"))).toEqual(["Service/client", "Service/headless"]);
    });

    test("redacts Pulumi secrets wherever they sit, without touching the registration", () => {
        const withSecrets = k8sObject("v1", "Secret", "creds", {
            stringData: { password: secret("hunter2"), user: "etcd" },
            list: [secret({ nested: "s3cr3t" }), "plain"],
        });
        const [manifest] = kubernetesManifests([withSecrets]) as (Manifest & { stringData: object; list: unknown[] })[];
        expect(manifest.stringData).toEqual({ password: REDACTED, user: "etcd" });
        // A secret object keeps its keys, which are no secret, with every value redacted.
        expect(manifest.list).toEqual([{ nested: REDACTED }, "plain"]);
        expect(JSON.stringify(manifest)).not.toMatch(/hunter2|s3cr3t/);
        expect((withSecrets.inputs.stringData as Record<string, unknown>).password).toEqual(secret("hunter2"));
        expect(redactSecrets(secret("x"))).toBe(REDACTED);
    });
});

describe("manifests of a real Pulumi program with secrets (mock runtime)", () => {
    const monitor = new RecordingMonitor({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: (args) => args.inputs });
    let text: string;
    let manifests: Manifest[];

    beforeAll(async () => {
        pulumi.runtime.setMockOptions(monitor, "p", "test", false);
        await sdkSettings.awaitFeatureSupport();
        const password = pulumi.secret("hunter2-in-clear");
        // A Kubernetes Secret's data is secret even when the program passes it in clear.
        new k8s.core.v1.Secret("creds", { metadata: { name: "creds", namespace: "ns" }, stringData: { password: "plain-but-in-a-secret", user: "etcd" } });
        new k8s.core.v1.ConfigMap("derived", { metadata: { name: "derived", namespace: "ns" }, data: { url: pulumi.interpolate`http://etcd:${password}@host` } });
        await sdkSettings.waitForRPCs();
        manifests = kubernetesManifests(monitor.registered);
        text = manifestsYaml(manifests);
    });

    test("a Secret's data, and a value derived from a secret, are redacted in manifests.yaml", () => {
        expect(findManifest(manifests as never, "Secret", "creds").stringData).toEqual({ password: REDACTED, user: REDACTED });
        expect(findManifest(manifests as never, "ConfigMap", "derived").data).toEqual({ url: REDACTED });
        expect(text).not.toMatch(/hunter2|plain-but-in-a-secret/);
    });
});

describe("manifestsYaml", () => {
    const manifests = renderedPlan().manifests as unknown as Manifest[];

    test("round-trips: one YAML document per object, equal to it", () => {
        const text = manifestsYaml(manifests);
        const documents = parseAllDocuments(text);
        expect(documents.every((d) => d.errors.length === 0)).toBe(true);
        expect(documents.map((d) => d.toJS())).toEqual(manifests);
    });

    test("long values stay on one line (kubectl diff and grep see them whole)", () => {
        const rendered = renderedPlan().manifests;
        const defrag = findManifest(rendered, "CronJob", "apisix-etcd-defrag").spec.jobTemplate.spec.template.spec.containers[0];
        const members = defrag.env.find((e: { name: string }) => e.name === "MEMBERS").value as string;
        expect(members.length).toBeGreaterThan(120);
        expect(manifestsYaml(rendered as Manifest[]).split("\n")).toContainEqual(expect.stringContaining(members));
    });
});

describe("the rendered prod manifests apply in order", () => {
    const { manifests, plan } = renderedPlan();

    test("the claims' size patches are in plan.json, not in manifests.yaml", () => {
        const patches = plan.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaimPatch");
        expect(patches.length).toBeGreaterThan(0);
        expect(manifests.filter((m) => m.kind === "PersistentVolumeClaim")).toEqual([]);
    });
    const position = (kind: string, name: string | undefined) => manifests.findIndex((m) => m.kind === kind && m.metadata.name === name);

    test("each namespaced object comes after its Namespace, when the stack creates it", () => {
        for (const [index, manifest] of manifests.entries()) {
            const namespace = manifest.metadata.namespace;
            const created = namespace === undefined ? -1 : position("Namespace", namespace);
            if (created >= 0) expect({ object: `${manifest.kind}/${manifest.metadata.name}`, after: index > created }).toEqual({ object: `${manifest.kind}/${manifest.metadata.name}`, after: true });
        }
        expect(manifests.filter((m) => m.metadata.namespace !== undefined && position("Namespace", m.metadata.namespace) >= 0).length).toBeGreaterThan(0);
    });

    test("each workload comes after the ServiceAccount, Service and StorageClass it names", () => {
        const podSpecOf = (m: (typeof manifests)[number]) => m.spec?.jobTemplate?.spec?.template?.spec ?? m.spec?.template?.spec;
        const workloads = manifests.filter((m) => podSpecOf(m) !== undefined);
        expect(workloads.length).toBeGreaterThan(0);
        for (const workload of workloads) {
            const index = manifests.indexOf(workload);
            const references: [string, string | undefined][] = [
                ["ServiceAccount", podSpecOf(workload).serviceAccountName],
                ["Service", workload.spec.serviceName],
                ...((workload.spec.volumeClaimTemplates ?? []) as { spec: { storageClassName?: string } }[]).map((c): [string, string | undefined] => ["StorageClass", c.spec.storageClassName]),
            ];
            for (const [kind, name] of references) {
                const referenced = position(kind, name);
                if (referenced >= 0) expect(`${kind}/${name} at ${referenced}`).toBe(`${kind}/${name} at ${Math.min(referenced, index - 1)}`);
            }
        }
    });
});
