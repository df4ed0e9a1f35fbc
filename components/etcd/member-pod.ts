import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CA_FILE, caMounts, caVolumes, EtcdClientAccess, userEnvironment } from "../access/etcd-client-access";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../security-context";
import { memberDataDir, MemberSettings } from "./member-configuration";
import { securityVolumes } from "./member-security";
import { MEMBER_JOIN_SCRIPT, MEMBERSHIP_SCRIPT } from "./membership-scripts";
import { MemberRestoreSteps } from "./restore-init";
import { CLIENT_PORT, ClusterTopology, METRICS_PORT, PEER_PORT } from "./topology";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type PodTemplateSpec = k8s.types.input.core.v1.PodTemplateSpec;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** The volume (from the StatefulSet's claim template) that holds a member's data. */
export const DATA_VOLUME = "data";
/** The file etcd reads its whole configuration from, written by the member-join step at each start. */
export const CONFIG_FILE = "/etc/etcd/member/etcd.yaml";
/** The key of the declared configuration in its ConfigMap, and the file name it is mounted under. */
export const CONFIG_KEY = "etcd.yaml";
const DECLARED_CONFIG_DIR = "/etc/etcd/declared";

/** How the members manage their own membership (see membership-scripts.ts). */
export interface MemberMembershipArgs {
    /** An image with a POSIX shell, curl and jq (the etcd image has no shell). */
    readonly image: string;
    /** The etcd user that changes the membership, and the CA the steps verify https members with. */
    readonly access: EtcdClientAccess;
    /** The ConfigMap whose existence says that the cluster was founded. */
    readonly foundedMarkerName: string;
    /** Prefix of the random initial-cluster-token each new cluster gets. */
    readonly newClusterPrefix: string;
    /** Seconds a member-join step waits for a cluster or its turn before it fails (and is run again). */
    readonly waitTimeoutSeconds: number;
}

export interface MemberPodArgs {
    readonly topology: ClusterTopology;
    readonly image: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly serviceAccountName: pulumi.Input<string>;
    /** `required` never places two members on one node; `preferred` only tries to. */
    readonly antiAffinity: "required" | "preferred";
    /** `required` refuses to schedule a member when zones would become unbalanced. */
    readonly zoneSpread: "required" | "preferred";
    readonly resources: ResourceRequirements;
    readonly settings: MemberSettings;
    /** The ConfigMap holding the declared configuration file under {@link CONFIG_KEY}. */
    readonly configMapName: pulumi.Input<string>;
    readonly membership: MemberMembershipArgs;
    /** Init containers (and their volumes) that restore an empty member from a snapshot first. */
    readonly restore?: MemberRestoreSteps;
}

/** Health of the local member only: no quorum needed, and a full disk (NOSPACE) is not a reason to restart. */
const LOCAL_HEALTH = "/health?serializable=true&exclude=NOSPACE";
/**
 * Ready to serve clients: a voting member (etcd 3.5.19+ checks non_learner here; /health passes on a learner,
 * which refuses clients' requests and the membership calls, "rpc not supported for learner", so the client
 * Service must not route to it), with a leader, answering a linearizable read; NOSPACE is no reason (only
 * the CORRUPT alarm counts here).
 */
const CLUSTER_READY = "/readyz";

/** The membership steps are small shell scripts; /tmp is their HOME on the read-only root filesystem. */
export const STEP_RESOURCES: ResourceRequirements = { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } };

export function memberPodTemplate(args: MemberPodArgs): PodTemplateSpec {
    const podAffinityTerm = { labelSelector: { matchLabels: args.labels }, topologyKey: "kubernetes.io/hostname" };
    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
        httpGet: { path, port: METRICS_PORT },
        periodSeconds,
        timeoutSeconds: 5,
        failureThreshold,
    });
    const security = securityVolumes(args.settings.security);
    const membership = args.membership;
    const dataMount = { name: DATA_VOLUME, mountPath: args.settings.dataMountPath };
    const memberConfigMount = { name: "member-config", mountPath: CONFIG_FILE.slice(0, CONFIG_FILE.lastIndexOf("/")) };
    const stepEnv: EnvVar[] = [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        // Kubernetes substitutes the pod's name: the step never builds a host name itself.
        { name: "PEER_URL", value: args.topology.peerUrl("$(POD_NAME)") },
        { name: "ENDPOINT", value: args.topology.clientUrl },
        ...(membership.access.caSecretName === undefined ? [] : [{ name: "CACERT", value: CA_FILE }]),
        ...userEnvironment(membership.access, { user: "MEMBERSHIP_USER", password: "MEMBERSHIP_PASSWORD" }),
        { name: "HOME", value: "/tmp" },
    ];
    const step = (name: string, script: string, env: EnvVar[], mounts: k8s.types.input.core.v1.VolumeMount[]): Container => ({
        name,
        image: membership.image,
        imagePullPolicy: "IfNotPresent",
        command: ["/bin/sh", "-c", script],
        env: [...stepEnv, ...env],
        resources: STEP_RESOURCES,
        securityContext: restrictedContainerSecurityContext,
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...caMounts(membership.access), ...mounts],
    });
    const memberJoin = step(
        "member-join",
        MEMBER_JOIN_SCRIPT,
        [
            { name: "DATA_DIR", value: memberDataDir(args.settings.dataMountPath) },
            { name: "CONFIG_TEMPLATE", value: `${DECLARED_CONFIG_DIR}/${CONFIG_KEY}` },
            { name: "CONFIG_FILE", value: CONFIG_FILE },
            { name: "FOUNDER", value: args.topology.memberName(0) },
            { name: "NEW_CLUSTER_PREFIX", value: membership.newClusterPrefix },
            { name: "MARKER", value: membership.foundedMarkerName },
            { name: "FOUNDED", valueFrom: { configMapKeyRef: { name: membership.foundedMarkerName, key: "founded", optional: true } } },
            { name: "WAIT_TIMEOUT", value: String(membership.waitTimeoutSeconds) },
        ],
        [dataMount, { name: "declared-config", mountPath: DECLARED_CONFIG_DIR, readOnly: true }, memberConfigMount],
    );
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
            // A restore first fills an empty data dir; the member-join step then finds its WAL.
            initContainers: [...(args.restore?.initContainers ?? []), memberJoin],
            volumes: [
                ...(args.restore?.volumes ?? []),
                ...security.volumes,
                { name: "declared-config", configMap: { name: args.configMapName, items: [{ key: CONFIG_KEY, path: CONFIG_KEY }] } },
                { name: "member-config", emptyDir: { sizeLimit: "1Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                ...caVolumes(membership.access),
            ],
            containers: [
                {
                    name: "etcd",
                    image: args.image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["/usr/local/bin/etcd"],
                    // etcd then reads nothing else: no flag, no ETCD_* variable.
                    args: [`--config-file=${CONFIG_FILE}`],
                    ports: [
                        { name: "client", containerPort: CLIENT_PORT },
                        { name: "peer", containerPort: PEER_PORT },
                        { name: "metrics", containerPort: METRICS_PORT },
                    ],
                    // Start-up may replay a large WAL or wait for peers; allow it five minutes, checked each second:
                    // the next member joins only once this one is ready (the Service answers through it).
                    startupProbe: probe(LOCAL_HEALTH, 1, 300),
                    livenessProbe: probe(LOCAL_HEALTH, 10, 6),
                    readinessProbe: probe(CLUSTER_READY, 2, 3),
                    resources: args.resources,
                    securityContext: restrictedContainerSecurityContext,
                    volumeMounts: [dataMount, { ...memberConfigMount, readOnly: true }, ...security.mounts],
                },
                step("membership", MEMBERSHIP_SCRIPT, [], []),
            ],
        },
    };
}
