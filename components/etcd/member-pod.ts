import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../security-context";
import { memberEnvironment, MemberSettings } from "./member-environment";
import { securityVolumes } from "./member-security";
import { MemberRestoreSteps } from "./restore-init";
import { CLIENT_PORT, ClusterTopology, METRICS_PORT, PEER_PORT } from "./topology";

type PodTemplateSpec = k8s.types.input.core.v1.PodTemplateSpec;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** The volume (from the StatefulSet's claim template) that holds a member's data. */
export const DATA_VOLUME = "data";

export interface MemberPodArgs extends MemberSettings {
    readonly topology: ClusterTopology;
    readonly image: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly serviceAccountName: pulumi.Input<string>;
    /** `required` never places two members on one node; `preferred` only tries to. */
    readonly antiAffinity: "required" | "preferred";
    /** `required` refuses to schedule a member when zones would become unbalanced. */
    readonly zoneSpread: "required" | "preferred";
    readonly resources: ResourceRequirements;
    /** Init containers (and their volumes) that restore an empty member from a snapshot first. */
    readonly restore?: MemberRestoreSteps;
}

/** Health of the local member only: no quorum needed, and a full disk (NOSPACE) is not a reason to restart. */
const LOCAL_HEALTH = "/health?serializable=true&exclude=NOSPACE";
/** The member is part of a cluster with a leader and answers a linearizable read. */
const CLUSTER_HEALTH = "/health?exclude=NOSPACE";

export function memberPodTemplate(args: MemberPodArgs): PodTemplateSpec {
    const podAffinityTerm = { labelSelector: { matchLabels: args.labels }, topologyKey: "kubernetes.io/hostname" };
    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
        httpGet: { path, port: METRICS_PORT },
        periodSeconds,
        timeoutSeconds: 5,
        failureThreshold,
    });
    const security = securityVolumes(args.security);
    const volumes = [...(args.restore?.volumes ?? []), ...security.volumes];
    return {
        metadata: { labels: args.labels },
        spec: {
            serviceAccountName: args.serviceAccountName,
            automountServiceAccountToken: false,
            // SIGTERM makes a leader hand leadership over before it exits; give it time to do so.
            terminationGracePeriodSeconds: 60,
            securityContext: restrictedPodSecurityContext,
            affinity: {
                podAntiAffinity:
                    args.antiAffinity === "required"
                        ? { requiredDuringSchedulingIgnoredDuringExecution: [podAffinityTerm] }
                        : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm }] },
            },
            topologySpreadConstraints: [
                {
                    maxSkew: 1,
                    topologyKey: "topology.kubernetes.io/zone",
                    whenUnsatisfiable: args.zoneSpread === "required" ? "DoNotSchedule" : "ScheduleAnyway",
                    labelSelector: { matchLabels: args.labels },
                },
            ],
            initContainers: args.restore?.initContainers,
            volumes: volumes.length > 0 ? volumes : undefined,
            containers: [
                {
                    name: "etcd",
                    image: args.image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["/usr/local/bin/etcd"],
                    env: memberEnvironment(args.topology, args),
                    ports: [
                        { name: "client", containerPort: CLIENT_PORT },
                        { name: "peer", containerPort: PEER_PORT },
                        { name: "metrics", containerPort: METRICS_PORT },
                    ],
                    // Start-up may replay a large WAL or wait for peers; allow it five minutes.
                    startupProbe: probe(LOCAL_HEALTH, 5, 60),
                    livenessProbe: probe(LOCAL_HEALTH, 10, 6),
                    readinessProbe: probe(CLUSTER_HEALTH, 5, 3),
                    resources: args.resources,
                    securityContext: restrictedContainerSecurityContext,
                    volumeMounts: [{ name: DATA_VOLUME, mountPath: args.dataMountPath }, ...security.mounts],
                },
            ],
        },
    };
}
