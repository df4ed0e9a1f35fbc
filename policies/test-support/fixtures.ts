import { FakeResource } from "./run-policy";

/** Plain objects of a compliant production etcd, for policy tests to break one field at a time. */

export const MEMBER_LABELS = { "app.kubernetes.io/name": "etcd", "app.kubernetes.io/instance": "apisix-etcd" };

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
                                image: "gcr.io/etcd-development/etcd:v3.5.16",
                                command: ["/usr/local/bin/etcd"],
                                env: [
                                    { name: "ETCD_DATA_DIR", value: "/var/lib/etcd/data" },
                                    { name: "ETCD_QUOTA_BACKEND_BYTES", value: "4294967296" },
                                    { name: "ETCD_AUTO_COMPACTION_RETENTION", value: "1h" },
                                ],
                                resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
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
                                initContainers: [{ name: "save", image: "gcr.io/etcd-development/etcd:v3.5.16", command: ["/usr/local/bin/etcdctl"], args: ["snapshot", "save", "/backup/etcd.db"] }],
                                containers: [{ name: "upload", image: "gcr.io/google.com/cloudsdktool/google-cloud-cli:500.0.0-slim" }],
                            },
                        },
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
