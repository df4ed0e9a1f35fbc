import { FakeResource } from "./run-policy";

/** Plain objects of a compliant production etcd, for policy tests to break one field at a time. */

export const MEMBER_LABELS = { "app.kubernetes.io/name": "etcd", "app.kubernetes.io/instance": "apisix-etcd" };

const MEMBER_DOMAIN = "apisix-etcd-headless.etcd.svc.cluster.local";

export function statefulSet(): FakeResource {
    return {
        type: "kubernetes:apps/v1:StatefulSet",
        name: "apisix-etcd",
        protect: true,
        props: {
            metadata: { name: "apisix-etcd", namespace: "etcd" },
            spec: {
                replicas: 3,
                serviceName: "apisix-etcd-headless",
                podManagementPolicy: "Parallel",
                selector: { matchLabels: { ...MEMBER_LABELS } },
                template: {
                    metadata: { labels: { ...MEMBER_LABELS, extra: "yes" } },
                    spec: {
                        securityContext: { runAsNonRoot: true },
                        affinity: {
                            podAntiAffinity: {
                                requiredDuringSchedulingIgnoredDuringExecution: [
                                    { labelSelector: { matchLabels: { ...MEMBER_LABELS } }, topologyKey: "kubernetes.io/hostname" },
                                ],
                            },
                        },
                        topologySpreadConstraints: [
                            { topologyKey: "topology.kubernetes.io/zone", labelSelector: { matchLabels: { ...MEMBER_LABELS } }, whenUnsatisfiable: "ScheduleAnyway" },
                        ],
                        containers: [
                            {
                                name: "etcd",
                                image: "gcr.io/etcd-development/etcd:v3.5.33",
                                command: ["/usr/local/bin/etcd"],
                                env: [
                                    { name: "ETCD_DATA_DIR", value: "/var/lib/etcd/data" },
                                    { name: "ETCD_QUOTA_BACKEND_BYTES", value: "4294967296" },
                                    { name: "ETCD_AUTO_COMPACTION_RETENTION", value: "1h" },
                                    { name: "ETCD_INITIAL_CLUSTER_TOKEN", value: "apisix-etcd-headless" },
                                    { name: "ETCD_AUTH_TOKEN", value: "jwt,pub-key=/etc/etcd/jwt/jwt.pub,priv-key=/etc/etcd/jwt/jwt.key,sign-method=ES256,ttl=10m" },
                                    { name: "ETCD_LISTEN_PEER_URLS", value: "https://0.0.0.0:2380" },
                                    { name: "ETCD_INITIAL_ADVERTISE_PEER_URLS", value: `https://$(POD_NAME).${MEMBER_DOMAIN}:2380` },
                                    { name: "ETCD_INITIAL_CLUSTER", value: [0, 1, 2].map((index) => `apisix-etcd-${index}=https://apisix-etcd-${index}.${MEMBER_DOMAIN}:2380`).join(",") },
                                    { name: "ETCD_PEER_CERT_FILE", value: "/etc/etcd/tls/tls.crt" },
                                    { name: "ETCD_PEER_KEY_FILE", value: "/etc/etcd/tls/tls.key" },
                                    { name: "ETCD_PEER_TRUSTED_CA_FILE", value: "/etc/etcd/tls/ca.crt" },
                                    { name: "ETCD_PEER_CLIENT_CERT_AUTH", value: "true" },
                                    { name: "ETCD_LISTEN_CLIENT_URLS", value: "https://0.0.0.0:2379" },
                                    { name: "ETCD_ADVERTISE_CLIENT_URLS", value: `https://$(POD_NAME).${MEMBER_DOMAIN}:2379` },
                                    { name: "ETCD_CERT_FILE", value: "/etc/etcd/tls/tls.crt" },
                                    { name: "ETCD_KEY_FILE", value: "/etc/etcd/tls/tls.key" },
                                ],
                                resources: { requests: { cpu: "500m", memory: "6Gi" }, limits: { memory: "6Gi" } },
                                securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true },
                                volumeMounts: [{ name: "data", mountPath: "/var/lib/etcd" }],
                            },
                        ],
                    },
                },
                volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { storageClassName: "apisix-etcd-ssd" } }],
            },
        },
    };
}

/** The members' etcd configuration file, as the stack declares it in a ConfigMap. */
export const CONFIG_FILE_TEXT = `name: $(POD_NAME)
data-dir: /var/lib/etcd/data
listen-peer-urls: https://0.0.0.0:2380
listen-client-urls: https://0.0.0.0:2379
initial-advertise-peer-urls: https://$(POD_NAME).${MEMBER_DOMAIN}:2380
advertise-client-urls: https://$(POD_NAME).${MEMBER_DOMAIN}:2379
quota-backend-bytes: 4294967296
auto-compaction-retention: 1h
auth-token: jwt,pub-key=/etc/etcd/jwt/jwt.pub,priv-key=/etc/etcd/jwt/jwt.key,sign-method=ES256,ttl=10m
log-outputs: [stderr]
peer-transport-security:
  cert-file: /etc/etcd/tls/tls.crt
  key-file: /etc/etcd/tls/tls.key
  trusted-ca-file: /etc/etcd/tls/ca.crt
  client-cert-auth: true
client-transport-security:
  cert-file: /etc/etcd/tls/tls.crt
  key-file: /etc/etcd/tls/tls.key
`;

/**
 * The members as the stack renders them: etcd reads a configuration file (written at start into an
 * in-memory folder from the ConfigMap the pod mounts), and the ConfigMap that declares it.
 */
export function configFileMembers(text = CONFIG_FILE_TEXT): [FakeResource, FakeResource] {
    const members = changed(statefulSet(), (p) => {
        const pod = p.spec.template.spec;
        delete pod.containers[0].env;
        pod.containers[0].args = ["--config-file=/etc/etcd/member/etcd.yaml"];
        pod.containers[0].volumeMounts.push({ name: "member-config", mountPath: "/etc/etcd/member", readOnly: true });
        pod.volumes = [
            { name: "declared-config", configMap: { name: "apisix-etcd-config", items: [{ key: "etcd.yaml", path: "etcd.yaml" }] } },
            { name: "member-config", emptyDir: {} },
        ];
    });
    const configMap: FakeResource = {
        type: "kubernetes:core/v1:ConfigMap",
        name: "apisix-etcd-config",
        props: { metadata: { name: "apisix-etcd-config", namespace: "etcd" }, data: { "etcd.yaml": text } },
    };
    return [members, configMap];
}

export function headlessService(): FakeResource {
    return {
        type: "kubernetes:core/v1:Service",
        name: "apisix-etcd-headless",
        props: {
            metadata: { name: "apisix-etcd-headless", namespace: "etcd" },
            spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: { ...MEMBER_LABELS } },
        },
    };
}

export function disruptionBudget(spec: Record<string, unknown> = { minAvailable: 2 }): FakeResource {
    return {
        type: "kubernetes:policy/v1:PodDisruptionBudget",
        name: "apisix-etcd-quorum",
        props: { metadata: { name: "apisix-etcd", namespace: "etcd" }, spec: { selector: { matchLabels: { ...MEMBER_LABELS } }, ...spec } },
    };
}

export function snapshotClass(deletionPolicy = "Retain"): FakeResource {
    return {
        type: "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass",
        name: "apisix-etcd-snapshots",
        props: { apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshotClass", driver: "pd.csi.storage.gke.io", deletionPolicy },
    };
}

export function backupCronJob(concurrencyPolicy = "Forbid"): FakeResource {
    return {
        type: "kubernetes:batch/v1:CronJob",
        name: "apisix-etcd-backup",
        props: {
            metadata: { name: "apisix-etcd-backup", namespace: "etcd" },
            spec: {
                concurrencyPolicy,
                jobTemplate: {
                    spec: {
                        template: {
                            spec: {
                                initContainers: [{ name: "save", image: "gcr.io/etcd-development/etcd:v3.5.33", command: ["/usr/local/bin/etcdctl"], args: ["snapshot", "save", "/backup/etcd.db"] }],
                                containers: [{ name: "upload", image: "gcr.io/google.com/cloudsdktool/google-cloud-cli:500.0.0-slim" }],
                            },
                        },
                    },
                },
            },
        },
    };
}

/** The Job that creates the users and switches authentication on through etcd's JSON gateway. */
export function authBootstrapJob(): FakeResource {
    return {
        type: "kubernetes:batch/v1:Job",
        name: "apisix-etcd-auth",
        props: {
            metadata: { name: "apisix-etcd-auth", namespace: "etcd" },
            spec: {
                template: {
                    spec: {
                        containers: [
                            {
                                name: "enable-auth",
                                image: "curlimages/curl:8.10.1",
                                command: ["/bin/sh", "-c", 'curl -sf -X POST "$ENDPOINT/v3/auth/enable" -d "{}"'],
                                env: [
                                    { name: "ENDPOINT", value: "https://apisix-etcd.etcd.svc:2379" },
                                    { name: "ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: "apisix-etcd-root", key: "password" } } },
                                ],
                            },
                        ],
                    },
                },
            },
        },
    };
}

export function bucket(): FakeResource {
    return {
        type: "gcp:storage/bucket:Bucket",
        name: "apisix-etcd-backups",
        protect: true,
        props: { versioning: { enabled: true }, publicAccessPrevention: "enforced", uniformBucketLevelAccess: true },
    };
}

/** A copy of a fixture with its props changed by `edit`. */
export function changed(resource: FakeResource, edit: (props: any) => void, overrides: Partial<FakeResource> = {}): FakeResource {
    const props = structuredClone(resource.props);
    edit(props);
    return { ...resource, ...overrides, props };
}
