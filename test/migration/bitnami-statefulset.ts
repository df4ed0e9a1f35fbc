// Today's member as Bitnami's etcd chart (bitnami/charts, bitnami/etcd/templates/statefulset.yaml and its
// values) renders it for release `apisix-etcd` in namespace `etcd` with `replicaCount: 1` and no auth:
// the pod's user 1001, fsGroup 1001 (fsGroupChangePolicy Always), the claim template `data` mounted at
// /bitnami/etcd, the data dir /bitnami/etcd/data, and etcd configured by the chart's ETCD_* variables
// (with one replica the chart sets no initial cluster, state or token: etcd's defaults, `etcd-cluster`).
// Two differences, both outside what lands on the volume: the image's entrypoint (bash scripts, which
// the pod sandbox does not stand in for) is replaced by etcd itself, with the same variables; and its
// exec health check (`healthcheck.sh`, `etcdctl endpoint health`) by an httpGet on etcd's /health.
// The pod also carries `app.kubernetes.io/part-of: apisix`, the label docs/migration.md adds to the
// running pod so that the stack's Services keep selecting it until its member is taken over.
import type { RenderedManifest } from "../rendered-plan";

/** The seed document gives no tag; the sandbox maps the repository to the local etcd 3.5 binaries. */
export const BITNAMI_IMAGE = "docker.io/bitnami/etcd:3.5";
/** Bitnami's user and group, the owner of every file on its volume. */
export const BITNAMI_UID = 1001;
export const BITNAMI_DATA_DIR = "/bitnami/etcd/data";

const NAME = "apisix-etcd";
const NAMESPACE = "etcd";
const HEADLESS = `${NAME}-headless`;
const podUrl = (port: number) => `http://$(MY_POD_NAME).${HEADLESS}.${NAMESPACE}.svc.cluster.local:${port}`;

/** The Bitnami StatefulSet (one replica), with the label that the stack's Services select added to its pod. */
export function bitnamiStatefulSet(): RenderedManifest {
    const selector = { "app.kubernetes.io/instance": NAME, "app.kubernetes.io/name": "etcd" };
    const labels = { ...selector, "app.kubernetes.io/managed-by": "Helm" };
    return {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: NAME, namespace: NAMESPACE, labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: selector },
            serviceName: HEADLESS,
            podManagementPolicy: "Parallel",
            template: {
                metadata: { labels: { ...labels, "app.kubernetes.io/part-of": "apisix" } },
                spec: {
                    securityContext: { fsGroup: BITNAMI_UID, fsGroupChangePolicy: "Always" },
                    serviceAccountName: NAME,
                    containers: [
                        {
                            name: "etcd",
                            image: BITNAMI_IMAGE,
                            command: ["/opt/bitnami/etcd/bin/etcd"],
                            securityContext: { runAsUser: BITNAMI_UID, runAsGroup: BITNAMI_UID, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
                            env: [
                                { name: "BITNAMI_DEBUG", value: "false" },
                                { name: "MY_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                                { name: "MY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                { name: "ETCDCTL_API", value: "3" },
                                { name: "ETCD_ON_K8S", value: "yes" },
                                { name: "ETCD_START_FROM_SNAPSHOT", value: "no" },
                                { name: "ETCD_DISASTER_RECOVERY", value: "no" },
                                { name: "ETCD_NAME", value: "$(MY_POD_NAME)" },
                                { name: "ETCD_DATA_DIR", value: BITNAMI_DATA_DIR },
                                { name: "ETCD_LOG_LEVEL", value: "info" },
                                { name: "ALLOW_NONE_AUTHENTICATION", value: "yes" },
                                { name: "ETCD_ADVERTISE_CLIENT_URLS", value: podUrl(2379) },
                                { name: "ETCD_LISTEN_CLIENT_URLS", value: "http://0.0.0.0:2379" },
                                { name: "ETCD_INITIAL_ADVERTISE_PEER_URLS", value: podUrl(2380) },
                                { name: "ETCD_LISTEN_PEER_URLS", value: "http://0.0.0.0:2380" },
                            ],
                            ports: [
                                { name: "client", containerPort: 2379 },
                                { name: "peer", containerPort: 2380 },
                            ],
                            readinessProbe: { httpGet: { path: "/health", port: 2379 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 5 },
                            // The chart's emptyDir mounts serve its entrypoint's files only, which does not run here.
                            volumeMounts: [{ name: "data", mountPath: "/bitnami/etcd" }],
                        },
                    ],
                },
            },
            volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "8Gi" } } } }],
        },
    } as RenderedManifest;
}
