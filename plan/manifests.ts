import { stringify } from "yaml";
import { RegisteredResource } from "./recording-monitor";
import { redactSecrets } from "./secrets";

/** A Kubernetes object as `kubectl apply` would take it. */
export interface Manifest {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name?: string; readonly namespace?: string; readonly [key: string]: unknown };
    readonly [key: string]: unknown;
}

/**
 * The order in which kinds can be applied to an empty cluster: what others refer to comes first
 * (the order Helm installs in). Kinds not listed (custom resources) come last.
 */
const APPLY_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount",
    "Secret", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet",
    "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "Ingress",
];

function applyRank(kind: string): number {
    const rank = APPLY_ORDER.indexOf(kind);
    return rank < 0 ? APPLY_ORDER.length : rank;
}

/**
 * Patch resources (`...Patch` types: server-side apply of some fields of an object that exists) are no
 * objects of their own: `kubectl apply` of one would create a partial object, refused on an empty cluster.
 * On an empty cluster what they patch is made whole by its owner (a claim by its StatefulSet's template).
 */
const isPatch = (resource: RegisteredResource) => resource.type.endsWith("Patch");

/** The Kubernetes objects among the registered resources, secrets redacted, in apply order; patches left out. */
export function kubernetesManifests(resources: readonly RegisteredResource[]): Manifest[] {
    return resources
        .filter((resource) => resource.custom && resource.type.startsWith("kubernetes:") && !isPatch(resource))
        .map((resource) => redactSecrets(resource.inputs) as Manifest)
        .map((manifest, index) => ({ manifest, index }))
        .sort((a, b) => applyRank(a.manifest.kind) - applyRank(b.manifest.kind) || a.index - b.index)
        .map(({ manifest }) => manifest);
}

/** Multi-document YAML, one object per document. */
export function manifestsYaml(manifests: readonly Manifest[]): string {
    return manifests.map((manifest) => stringify(manifest, { lineWidth: 0 })).join("---\n");
}
