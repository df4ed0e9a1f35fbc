import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { memberResourcesForQuota } from "../memory-sizing";
import { memberConfiguration, memberConfigurationFile, memberDataDir } from "./member-configuration";
import { CONFIG_KEY, DATA_VOLUME, MemberMembershipArgs, memberPodTemplate } from "./member-pod";
import { MemberScaleDown } from "./member-scale-down";
import { MemberSecurity } from "./member-security";
import { MemberRestoreArgs, memberRestoreSteps } from "./restore-init";
import { CLIENT_PORT, ClusterTopology, METRICS_PORT, PEER_PORT } from "./topology";

export interface EtcdClusterArgs {
    /** Namespace created for the cluster. */
    readonly namespace: string;
    /** Name of the StatefulSet, of the client Service (`apisix-etcd`) and of the members' ServiceAccount. */
    readonly name: string;
    /** Number of members. */
    readonly replicas: number;
    /** Container image holding etcd at `/usr/local/bin/etcd` (the official images do). */
    readonly image: string;
    readonly antiAffinity: "required" | "preferred";
    readonly zoneSpread: "required" | "preferred";
    /** Kubernetes cluster DNS domain. */
    readonly clusterDomain: string;
    readonly storage: {
        /** Size of each member's PersistentVolumeClaim. */
        readonly size: string;
        readonly className: pulumi.Input<string>;
    };
    /** The etcd container's requests and limits; unset: sized from `quotaBackendBytes` (memory-sizing.ts). */
    readonly resources?: k8s.types.input.core.v1.ResourceRequirements;
    /** `--quota-backend-bytes`, in bytes. */
    readonly quotaBackendBytes: number;
    readonly autoCompaction: { readonly mode: "periodic" | "revision"; readonly retention: string };
    /** Namespaces whose pods may connect to the client port. */
    readonly clientNamespaces: readonly string[];
    /** The metrics collectors' pods, the only ones that may reach the metrics port; none closes it. */
    readonly metricsCollectors: readonly MetricsCollectorPods[];
    /** Protect the namespace and the StatefulSet (and so the data) from deletion and replacement. */
    readonly protect: boolean;
    /** Only to recover lost data: members with an empty data dir restore it from this snapshot first. */
    readonly restore?: MemberRestoreArgs;
    /** Members use certificates from the Secret named {@link EtcdCluster.tlsSecretName}; unset: plain http. */
    readonly tls?: { readonly clientTls: boolean };
    /**
     * How long an authentication token lives. Set, the members sign tokens with the key pair in the Secret
     * {@link EtcdCluster.tokenKeySecretName}; unset, no tokens are configured (no authentication).
     */
    readonly authTokenTtl?: string;
    /**
     * Member 0 takes over the data of the member that ran before on its claim (the in-place migration
     * from Bitnami's StatefulSet, docs/migration.md): the cluster counts as founded before any member
     * starts, so a member 0 that finds no data there waits and fails instead of founding an empty cluster.
     */
    readonly takesOverData?: boolean;
    /** How the members join, leave and are promoted by themselves. */
    readonly membership: {
        /** An image with a POSIX shell, curl and jq, for the membership steps beside the shell-less etcd. */
        readonly image: string;
        /** With authentication, the Secret (`username`, `password`) of the etcd user with root's role the steps use. */
        readonly userSecretName?: string;
    };
}

/** Pods that scrape the members: those of `namespace`, and of them only those with `podLabels` when given. */
export interface MetricsCollectorPods {
    readonly namespace: string;
    readonly podLabels?: Readonly<Record<string, string>>;
}

/** Where each member's data volume is mounted. */
const DATA_MOUNT_PATH = "/var/lib/etcd";
/** How long a member waits for a cluster to join, or its turn to, before its start fails and is tried again. */
const JOIN_TIMEOUT_SECONDS = 600;

/** The size in the StatefulSet's claim template, which the StatefulSet keeps from its creation on. */
export const CLAIM_TEMPLATE_SIZE = "spec.volumeClaimTemplates[0].spec.resources.requests.storage";

/** The majority of members that must stay up for the cluster to accept writes. */
export function quorum(replicas: number): number {
    return Math.floor(replicas / 2) + 1;
}

/**
 * An etcd cluster as a StatefulSet of members on GKE: the namespace, the Services APISIX and the
 * members use, a PodDisruptionBudget that keeps quorum, and a NetworkPolicy around the ports.
 */
export class EtcdCluster extends pulumi.ComponentResource {
    /** The namespace the cluster lives in. */
    public readonly namespace: pulumi.Output<string>;
    /** The URL clients use: `http(s)://<name>.<namespace>.svc.<domain>:2379`. */
    public readonly clientUrl: pulumi.Output<string>;
    /** Each member's own client URL, for maintenance that must visit every member. */
    public readonly memberClientUrls: pulumi.Output<string[]>;
    /** Labels that select the member pods. */
    public readonly memberLabels: Readonly<Record<string, string>>;
    /** Labels of every pod of this cluster's stack (members and the jobs that talk to them). */
    public readonly instanceLabels: Readonly<Record<string, string>>;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    /** The Secret with the members' certificate (`tls.crt`, `tls.key`, `ca.crt`), when TLS is on. */
    public readonly tlsSecretName?: string;
    /** The Secret with the token signing key pair (`jwt.key`, `jwt.pub`), when tokens are configured. */
    public readonly tokenKeySecretName?: string;
    /** Every name clients and peers reach the members by: what the members' certificate must cover. */
    public readonly certificateDnsNames: readonly string[];
    /** The members' PersistentVolumeClaims, `<claim template>-<member>`, in ordinal order. */
    public readonly dataClaimNames: readonly string[];
    /** The data volume's name in the member pods (the claim template's). */
    public readonly dataVolumeName = DATA_VOLUME;

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:EtcdCluster", name, {}, opts);
        if (!Number.isInteger(args.replicas) || args.replicas < 1) {
            throw new pulumi.ResourceError(`replicas must be a positive integer, got ${args.replicas}`, this);
        }

        const topology = new ClusterTopology({ ...args, peerTls: args.tls !== undefined, clientTls: args.tls?.clientTls === true });
        // The Secrets are named here and written by their own components: a member pod waits until its Secrets exist.
        this.tlsSecretName = args.tls && `${args.name}-tls`;
        this.tokenKeySecretName = args.authTokenTtl === undefined ? undefined : `${args.name}-token-key`;
        const security: MemberSecurity = {
            tls: args.tls && { secretName: this.tlsSecretName!, clientTls: args.tls.clientTls },
            authTokens: args.authTokenTtl === undefined ? undefined : { secretName: this.tokenKeySecretName!, ttl: args.authTokenTtl },
        };
        this.certificateDnsNames = topology.certificateDnsNames;
        this.instanceLabels = { "app.kubernetes.io/instance": args.name, "app.kubernetes.io/part-of": "apisix" };
        this.memberLabels = { ...this.instanceLabels, "app.kubernetes.io/name": "etcd" };
        const labels = { ...this.memberLabels, "app.kubernetes.io/managed-by": "pulumi" };

        const namespace = new k8s.core.v1.Namespace(
            args.namespace,
            {
                metadata: {
                    name: args.namespace,
                    // Every pod here meets the restricted Pod Security Standard; let the API server insist on it.
                    labels: { "pod-security.kubernetes.io/enforce": "restricted" },
                },
            },
            { parent: this, protect: args.protect },
        );
        const metadata = (objectName: string) => ({ name: objectName, namespace: namespace.metadata.name, labels });

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-members`,
            { metadata: { ...metadata(args.name), annotations: args.restore?.serviceAccountAnnotations }, automountServiceAccountToken: false },
            { parent: this },
        );

        const ports = [
            { name: "client", port: CLIENT_PORT, targetPort: "client" },
            { name: "peer", port: PEER_PORT, targetPort: "peer" },
        ];
        new k8s.core.v1.Service(
            `${name}-client`,
            { metadata: metadata(topology.clientServiceName), spec: { type: "ClusterIP", selector: this.memberLabels, ports } },
            { parent: this },
        );
        const headless = new k8s.core.v1.Service(
            `${name}-headless`,
            {
                metadata: metadata(topology.headlessServiceName),
                spec: {
                    clusterIP: "None",
                    // Members must find each other by DNS before any of them is ready, or the cluster never forms.
                    publishNotReadyAddresses: true,
                    selector: this.memberLabels,
                    ports,
                },
            },
            { parent: this },
        );

        const settings = { dataMountPath: DATA_MOUNT_PATH, quotaBackendBytes: args.quotaBackendBytes, autoCompaction: args.autoCompaction, security };
        const declaredConfig = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            { metadata: metadata(`${args.name}-config`), data: { [CONFIG_KEY]: memberConfigurationFile(memberConfiguration(topology, settings)) } },
            { parent: this },
        );
        const membership: MemberMembershipArgs = {
            image: args.membership.image,
            access: { userSecretName: args.membership.userSecretName, caSecretName: args.tls?.clientTls ? this.tlsSecretName : undefined },
            foundedMarkerName: `${args.name}-founded`,
            newClusterPrefix: args.name,
            waitTimeoutSeconds: JOIN_TIMEOUT_SECONDS,
        };
        // Members beyond `replicas` leave the cluster before the StatefulSet deletes their pods.
        const scaleDown = new MemberScaleDown(
            `${name}-scale-down`,
            { namespace: namespace.metadata.name, statefulSetName: args.name, replicas: args.replicas, endpoint: topology.clientUrl, membership, instanceLabels: this.instanceLabels },
            { parent: this },
        );

        // The marker that the cluster was founded: from then on a member that finds no cluster waits for it
        // instead of founding another (membership-scripts.ts). Its data is never read. Created once the first
        // members run (the StatefulSet is ready); when member 0 takes over existing data, before the members
        // (after the scale-down Job, which then finds no cluster to shrink): that data is the cluster.
        const foundedMarker = (dependsOn: pulumi.Resource[]) =>
            new k8s.core.v1.ConfigMap(
                `${name}-founded`,
                { metadata: metadata(membership.foundedMarkerName), data: { founded: "The etcd cluster of this StatefulSet was founded; its members never found another." } },
                { parent: this, protect: args.protect, dependsOn },
            );
        const foundedFirst = args.takesOverData ? foundedMarker([scaleDown]) : undefined;
        this.statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                metadata: metadata(args.name),
                spec: {
                    replicas: args.replicas,
                    serviceName: headless.metadata.name,
                    // Members must all start to elect a leader; one at a time, the first would wait forever.
                    podManagementPolicy: "Parallel",
                    selector: { matchLabels: this.memberLabels },
                    updateStrategy: { type: "RollingUpdate" },
                    // The volumes outlive the StatefulSet: deleting it or scaling down never deletes data.
                    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                    template: memberPodTemplate({
                        topology,
                        image: args.image,
                        labels,
                        serviceAccountName: serviceAccount.metadata.name,
                        antiAffinity: args.antiAffinity,
                        zoneSpread: args.zoneSpread,
                        resources: args.resources ?? memberResourcesForQuota(args.quotaBackendBytes),
                        settings,
                        configMapName: declaredConfig.metadata.name,
                        membership,
                        restore:
                            args.restore &&
                            memberRestoreSteps({
                                ...args.restore,
                                topology,
                                image: args.image,
                                dataVolume: DATA_VOLUME,
                                dataMountPath: DATA_MOUNT_PATH,
                                dataDir: memberDataDir(DATA_MOUNT_PATH),
                                volumeSize: args.storage.size,
                                maxDatabaseBytes: args.quotaBackendBytes,
                            }),
                    }),
                    volumeClaimTemplates: [
                        {
                            metadata: { name: DATA_VOLUME, labels: this.memberLabels },
                            spec: {
                                accessModes: ["ReadWriteOnce"],
                                storageClassName: args.storage.className,
                                resources: { requests: { storage: args.storage.size } },
                            },
                        },
                    ],
                },
            },
            // The API server refuses any change of volumeClaimTemplates, so Pulumi would replace the StatefulSet
            // (all members at once) for a new size: the template keeps the size it was created with, and the
            // claims grow through the patches below.
            { parent: this, protect: args.protect, ignoreChanges: [CLAIM_TEMPLATE_SIZE], dependsOn: foundedFirst ? [scaleDown, foundedFirst] : [scaleDown] },
        );
        if (!foundedFirst) foundedMarker([this.statefulSet]);

        this.dataClaimNames = topology.memberNames.map((member) => `${DATA_VOLUME}-${member}`);
        // Each member's claim gets the configured size, a new member's too once the StatefulSet made it (with
        // the template's size): the volumes grow online (the StorageClass must allow expansion), no pod restarts.
        // The API server refuses a smaller size ("field can not be less than previous value"), at preview.
        for (const [ordinal, claimName] of this.dataClaimNames.entries()) {
            new k8s.core.v1.PersistentVolumeClaimPatch(
                `${name}-data-${ordinal}`,
                {
                    metadata: {
                        name: claimName,
                        namespace: namespace.metadata.name,
                        // The StatefulSet controller created the claim and owns its size until this patch takes it.
                        annotations: { "pulumi.com/patchForce": "true" },
                    },
                    spec: { resources: { requests: { storage: args.storage.size } } },
                },
                // A member removed by scaling down keeps its claim, and the claim its size.
                { parent: this, dependsOn: [this.statefulSet], retainOnDelete: true },
            );
        }

        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-quorum`,
            {
                metadata: metadata(args.name),
                spec: {
                    minAvailable: quorum(args.replicas),
                    selector: { matchLabels: this.memberLabels },
                    // A member that is already unready does not count towards quorum; evicting it costs nothing.
                    unhealthyPodEvictionPolicy: "AlwaysAllow",
                },
            },
            { parent: this },
        );

        new k8s.networking.v1.NetworkPolicy(
            `${name}-ingress`,
            {
                metadata: metadata(args.name),
                spec: {
                    podSelector: { matchLabels: this.memberLabels },
                    policyTypes: ["Ingress"],
                    ingress: [
                        {
                            from: [
                                ...args.clientNamespaces.map((client) => ({
                                    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": client } },
                                })),
                                { podSelector: { matchLabels: this.instanceLabels } },
                            ],
                            ports: [{ protocol: "TCP", port: CLIENT_PORT }],
                        },
                        {
                            from: [{ podSelector: { matchLabels: this.memberLabels } }],
                            ports: [{ protocol: "TCP", port: PEER_PORT }],
                        },
                        // A rule without peers would admit every pod: no collectors, no rule.
                        ...(args.metricsCollectors.length === 0
                            ? []
                            : [
                                  {
                                      from: args.metricsCollectors.map((collector) => ({
                                          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": collector.namespace } },
                                          ...(collector.podLabels && { podSelector: { matchLabels: collector.podLabels } }),
                                      })),
                                      ports: [{ protocol: "TCP", port: METRICS_PORT }],
                                  },
                              ]),
                    ],
                },
            },
            { parent: this },
        );

        this.namespace = namespace.metadata.name;
        this.clientUrl = pulumi.output(topology.clientUrl);
        this.memberClientUrls = pulumi.output(topology.memberClientUrls);
        this.registerOutputs({
            namespace: this.namespace,
            clientUrl: this.clientUrl,
            memberClientUrls: this.memberClientUrls,
        });
    }
}
