/** The EtcdCluster arguments of the prod stack (index.ts with Pulumi.prod.yaml), for the component tests. */
import { EtcdClusterArgs } from "../components/etcd/cluster";

export const PROD_CLUSTER_ARGS: EtcdClusterArgs = {
    namespace: "etcd",
    name: "apisix-etcd",
    replicas: 3,
    image: "gcr.io/etcd-development/etcd:v3.5.33",
    antiAffinity: "required",
    zoneSpread: "preferred",
    clusterDomain: "cluster.local",
    storage: { size: "20Gi", className: "apisix-etcd-ssd" },
    resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
    quotaBackendBytes: 4 * 2 ** 30,
    autoCompaction: { mode: "periodic", retention: "1h" },
    clientNamespaces: ["apisix"],
    metricsCollectors: [
        { namespace: "gmp-system", podLabels: { "app.kubernetes.io/name": "collector" } },
        { namespace: "gke-gmp-system", podLabels: { "app.kubernetes.io/name": "collector" } },
    ],
    protect: true,
    membership: { image: "alpine/k8s:1.34.1", userSecretName: "apisix-etcd-user-membership" },
};
