import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { restrictedContainerSecurityContext } from "./security-context";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface ScriptPodArgs {
    readonly serviceAccountName: pulumi.Input<string>;
    /** The container's name. */
    readonly name: string;
    /** An image with a POSIX shell (and kubectl, curl where the script needs them). */
    readonly image: string;
    readonly script: string;
    readonly env: EnvVar[];
    readonly resources: k8s.types.input.core.v1.ResourceRequirements;
    /** Volumes besides /tmp, and where the container mounts them. */
    readonly volumes?: k8s.types.input.core.v1.Volume[];
    readonly volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
}

/**
 * The pod of a scheduled job that runs one shell script, under the restricted security context:
 * the root filesystem is read-only, so /tmp (where kubectl keeps its cache under $HOME) is an emptyDir.
 */
export function scriptPod(args: ScriptPodArgs): k8s.types.input.core.v1.PodSpec {
    return {
        serviceAccountName: args.serviceAccountName,
        containers: [
            {
                name: args.name,
                image: args.image,
                imagePullPolicy: "IfNotPresent",
                command: ["/bin/sh", "-c", args.script],
                env: [...args.env, { name: "HOME", value: "/tmp" }],
                resources: args.resources,
                securityContext: restrictedContainerSecurityContext,
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(args.volumeMounts ?? [])],
            },
        ],
        volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }, ...(args.volumes ?? [])],
    };
}
