// The parts of a rendered pod spec that the sandbox runs, and the pod template of each workload kind.

export interface EnvVarSpec {
    name: string;
    value?: string;
    valueFrom?: {
        fieldRef?: { fieldPath: string };
        secretKeyRef?: { name: string; key: string; optional?: boolean };
        configMapKeyRef?: { name: string; key: string; optional?: boolean };
        [source: string]: unknown;
    };
}

export interface EnvFromSpec {
    prefix?: string;
    secretRef?: { name: string; optional?: boolean };
    configMapRef?: { name: string; optional?: boolean };
}

export interface ProbeSpec {
    httpGet?: { path?: string; port: number | string; scheme?: string };
    tcpSocket?: { port: number | string };
    exec?: { command: string[] };
    initialDelaySeconds?: number;
    periodSeconds?: number;
    timeoutSeconds?: number;
    failureThreshold?: number;
    successThreshold?: number;
}

export interface SecurityContextSpec {
    runAsUser?: number;
    runAsGroup?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    fsGroup?: number;
    /** `OnRootMismatch` or `Always` (the default): when the kubelet changes a claim's ownership to fsGroup. */
    fsGroupChangePolicy?: string;
    supplementalGroups?: number[];
}

export interface ContainerSpec {
    name: string;
    image: string;
    command?: string[];
    args?: string[];
    env?: EnvVarSpec[];
    envFrom?: EnvFromSpec[];
    workingDir?: string;
    ports?: { name?: string; containerPort: number }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
    startupProbe?: ProbeSpec;
    livenessProbe?: ProbeSpec;
    readinessProbe?: ProbeSpec;
    lifecycle?: { preStop?: { exec?: { command: string[] }; [handler: string]: unknown } };
    securityContext?: SecurityContextSpec;
    /** `Always` on an init container makes it a native sidecar. */
    restartPolicy?: string;
}

export interface KeyToPath {
    key: string;
    path: string;
    mode?: number;
}

export interface VolumeSpec {
    name: string;
    emptyDir?: { medium?: string; sizeLimit?: string };
    secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
    configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
    persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
    [source: string]: unknown;
}

export interface PodSpec {
    containers: ContainerSpec[];
    initContainers?: ContainerSpec[];
    volumes?: VolumeSpec[];
    restartPolicy?: "Always" | "OnFailure" | "Never";
    securityContext?: SecurityContextSpec;
    terminationGracePeriodSeconds?: number;
    activeDeadlineSeconds?: number;
    hostname?: string;
    subdomain?: string;
    serviceAccountName?: string;
    [field: string]: unknown;
}

export interface PodTemplate {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: PodSpec;
}

/** A rendered workload: a StatefulSet, Job or CronJob (any other kind is refused by podTemplateOf). */
export interface WorkloadManifest {
    kind: string;
    metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
    spec?: any;
}

/** The pod template of a StatefulSet, Job or CronJob; throws on any other kind. */
export function podTemplateOf(workload: WorkloadManifest): PodTemplate {
    switch (workload.kind) {
        case "StatefulSet":
        case "Job":
            return workload.spec.template;
        case "CronJob":
            return workload.spec.jobTemplate.spec.template;
        default:
            throw new Error(`${workload.kind}/${workload.metadata.name}: the pod sandbox runs pods of a StatefulSet, Job or CronJob only`);
    }
}

/** What the Job controller reads of a Job, or of the Job a CronJob makes: its back-off limit and deadline. */
export function jobSpecOf(workload: WorkloadManifest): { backoffLimit: number; activeDeadlineSeconds?: number } {
    const spec = workload.kind === "CronJob" ? workload.spec.jobTemplate.spec : workload.kind === "Job" ? workload.spec : undefined;
    if (!spec) throw new Error(`${workload.kind}/${workload.metadata.name} is not a Job or CronJob`);
    return { backoffLimit: spec.backoffLimit ?? 6, activeDeadlineSeconds: spec.activeDeadlineSeconds };
}
