// A container's environment and argv as the kubelet builds them: the image's default variables, then
// envFrom, then env in order (value with $(VAR) references to earlier ones, fieldRef, secretKeyRef,
// configMapKeyRef), and $(VAR) in command and args expanded with the result.
import type { ContainerSpec } from "./pod-manifest";
import { expandKubernetesReferences } from "./reference-expansion";

/** Secret or ConfigMap name -> key -> value, as the API server would hand them to the kubelet. */
export type KeyValueObjects = ReadonlyMap<string, Readonly<Record<string, string | Buffer>>>;

/** What the downward API knows of the pod. */
export interface PodFields {
    name: string;
    namespace: string;
    uid: string;
    podIP: string;
    hostIP: string;
    nodeName: string;
    serviceAccountName: string;
    labels: Readonly<Record<string, string>>;
    annotations: Readonly<Record<string, string>>;
}

export interface EnvironmentSources {
    pod: PodFields;
    secrets: KeyValueObjects;
    configMaps: KeyValueObjects;
    /** The image's own variables (PATH), which env may override. */
    imageEnv: Readonly<Record<string, string>>;
}

function fieldValue(fieldPath: string, pod: PodFields, variable: string): string {
    const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (label) return (label[1] === "labels" ? pod.labels : pod.annotations)[label[2]] ?? "";
    const fields: Record<string, string> = {
        "metadata.name": pod.name,
        "metadata.namespace": pod.namespace,
        "metadata.uid": pod.uid,
        "status.podIP": pod.podIP,
        "status.podIPs": pod.podIP,
        "status.hostIP": pod.hostIP,
        "spec.nodeName": pod.nodeName,
        "spec.serviceAccountName": pod.serviceAccountName,
    };
    const value = fields[fieldPath];
    if (value === undefined) throw new Error(`env ${variable}: fieldRef ${fieldPath} is not a field the downward API offers`);
    return value;
}

function keyValue(kind: string, objects: KeyValueObjects, ref: { name: string; key: string; optional?: boolean }, variable: string): string | undefined {
    const object = objects.get(ref.name);
    const value = object?.[ref.key];
    if (value === undefined) {
        if (ref.optional) return undefined;
        // The kubelet refuses to start the container (CreateContainerConfigError).
        throw new Error(`env ${variable}: ${kind} ${ref.name} ${object ? `has no key ${ref.key}` : "does not exist"}`);
    }
    return value.toString();
}

/** The container's variables, in the order the kubelet sets them. */
export function containerEnvironment(container: ContainerSpec, sources: EnvironmentSources): Map<string, string> {
    const env = new Map(Object.entries(sources.imageEnv));
    for (const from of container.envFrom ?? []) {
        const [kind, ref, objects] = from.secretRef ? ["Secret", from.secretRef, sources.secrets] as const : ["ConfigMap", from.configMapRef!, sources.configMaps] as const;
        const object = objects.get(ref.name);
        if (!object) {
            if (ref.optional) continue;
            throw new Error(`container ${container.name}: envFrom ${kind} ${ref.name} does not exist`);
        }
        for (const [key, value] of Object.entries(object)) env.set(`${from.prefix ?? ""}${key}`, value.toString());
    }
    for (const variable of container.env ?? []) {
        const from = variable.valueFrom;
        let value: string | undefined;
        if (from === undefined) value = expandKubernetesReferences(variable.value ?? "", (name) => env.get(name));
        else if (from.fieldRef) value = fieldValue(from.fieldRef.fieldPath, sources.pod, variable.name);
        else if (from.secretKeyRef) value = keyValue("Secret", sources.secrets, from.secretKeyRef, variable.name);
        else if (from.configMapKeyRef) value = keyValue("ConfigMap", sources.configMaps, from.configMapKeyRef, variable.name);
        else throw new Error(`env ${variable.name}: valueFrom ${Object.keys(from).join(", ")} is not supported by the pod sandbox`);
        if (value !== undefined) env.set(variable.name, value);
    }
    return env;
}

/** command + args with $(VAR) expanded; an image entrypoint (no command) cannot be known here. */
export function containerArgv(container: ContainerSpec, env: ReadonlyMap<string, string>): string[] {
    if (!container.command || container.command.length === 0) {
        throw new Error(`container ${container.name}: no command; the pod sandbox does not know the image's entrypoint`);
    }
    return [...container.command, ...(container.args ?? [])].map((part) => expandKubernetesReferences(part, (name) => env.get(name)));
}
