/**
 * The alert scope of the prod stack (namespace `etcd`, StatefulSet `apisix-etcd`, a backup every 6 hours,
 * the auth bootstrap every hour), for the rule tests.
 */
import { AlertScope } from "../../components/monitoring/alert-rules";

export const PROD_SCOPE: AlertScope = {
    namespace: "etcd",
    job: "apisix-etcd",
    statefulSetName: "apisix-etcd",
    replicas: 3,
    dataClaimNames: ["data-apisix-etcd-0", "data-apisix-etcd-1", "data-apisix-etcd-2"],
    backup: { cronJobName: "apisix-etcd-backup", intervalSeconds: 6 * 3600 },
    authBootstrap: { cronJobName: "apisix-etcd-auth", intervalSeconds: 3600 },
    runbookBaseUrl: "https://example.com/apisix-etcd/docs/runbooks.md",
};
