/**
 * The parts of Kubernetes objects the policies read, as plain values (what a policy receives).
 * Declared here rather than taken from @pulumi/kubernetes, whose types wrap every field in Input<>.
 */

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface Container {
    name?: string;
    image?: string;
    command?: string[];
    args?: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
    volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodAffinityTerm {
    labelSelector?: LabelSelector;
    topologyKey?: string;
}

export interface PodSpec {
    containers?: Container[];
    initContainers?: Container[];
    volumes?: {
        name: string;
        emptyDir?: unknown;
        hostPath?: unknown;
        persistentVolumeClaim?: unknown;
        configMap?: { name?: string; items?: { key: string; path: string }[] };
    }[];
    securityContext?: { runAsNonRoot?: boolean };
    affinity?: {
        podAntiAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
            preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; podAffinityTerm: PodAffinityTerm }[];
        };
    };
    topologySpreadConstraints?: { topologyKey?: string; whenUnsatisfiable?: string; labelSelector?: LabelSelector }[];
}

export interface Metadata {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
}

export interface StatefulSet {
    metadata?: Metadata;
    spec?: {
        replicas?: number;
        serviceName?: string;
        podManagementPolicy?: string;
        selector?: LabelSelector;
        template?: { metadata?: Metadata; spec?: PodSpec };
        volumeClaimTemplates?: { metadata?: Metadata; spec?: { storageClassName?: string } }[];
    };
}

/** Where each workload kind keeps the spec of its pods, by API group and kind (any version). */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
    "core:Pod": ["spec"],
    "apps:Deployment": ["spec", "template", "spec"],
    "apps:StatefulSet": ["spec", "template", "spec"],
    "apps:DaemonSet": ["spec", "template", "spec"],
    "apps:ReplicaSet": ["spec", "template", "spec"],
    "batch:Job": ["spec", "template", "spec"],
    "batch:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** The kind a type token names: `kubernetes:batch/v1:CronJob` is a CronJob. */
export function kindOf(type: string): string {
    return type.split(":").pop() ?? type;
}

/** The spec of the pods a workload runs, or undefined when `type` is no workload. */
export function workloadPodSpec(type: string, props: unknown): PodSpec | undefined {
    const token = /^kubernetes:([^/:]+)\/[^:]+:(\w+)$/.exec(type);
    const path = token ? POD_SPEC_PATHS[`${token[1]}:${token[2]}`] : undefined;
    return path?.reduce((value, key) => (value as Record<string, unknown> | undefined)?.[key], props) as PodSpec | undefined;
}

/** Every container of a pod, init containers first (the order they run in). */
export function podContainers(spec: PodSpec | undefined): Container[] {
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/** A container's command followed by its arguments. */
export function commandWords(container: Container): string[] {
    return [...(container.command ?? []), ...(container.args ?? [])];
}

/** A container's command and arguments as one line, the way a reader (or a shell) sees them. */
export function commandLine(container: Container): string {
    return commandWords(container).join(" ");
}

export interface Service {
    metadata?: Metadata;
    spec?: { clusterIP?: string; publishNotReadyAddresses?: boolean; selector?: Record<string, string> };
}

export interface PodDisruptionBudget {
    metadata?: Metadata;
    spec?: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelector };
}

/** Whether a selector picks pods carrying `labels` (matchLabels and matchExpressions both). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
    if (!selector || (!selector.matchLabels && !selector.matchExpressions)) {
        return false;
    }
    const pod = labels ?? {};
    const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => pod[key] === value);
    const byExpressions = (selector.matchExpressions ?? []).every((expression) => {
        const value = pod[expression.key];
        switch (expression.operator) {
            case "In":
                return value !== undefined && (expression.values ?? []).includes(value);
            case "NotIn":
                return value === undefined || !(expression.values ?? []).includes(value);
            case "Exists":
                return value !== undefined;
            case "DoesNotExist":
                return value === undefined;
            default:
                return false;
        }
    });
    return byLabels && byExpressions;
}
