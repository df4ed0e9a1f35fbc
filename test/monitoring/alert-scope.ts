/**
 * The alert scopes of the prod stack (namespace `etcd`, StatefulSet `apisix-etcd`, a backup every 6 hours,
 * the auth bootstrap every hour), for the rule tests: as prod runs it, on GKE's managed Prometheus with the
 * platform's alerts on Google Cloud's metrics; and with a Prometheus Operator's Prometheus beside
 * kube-state-metrics and the kubelet.
 */
import { AlertScope } from "../../components/monitoring/alert-rules";

export const PROD_SCOPE: AlertScope = {
    namespace: "etcd",
    job: "apisix-etcd",
    statefulSetName: "apisix-etcd",
    replicas: 3,
    dataClaimNames: ["data-apisix-etcd-0", "data-apisix-etcd-1", "data-apisix-etcd-2"],
    dataVolumeName: "data",
    platform: { source: "google-cloud", clusterName: "apisix-prod" },
    backup: {
        cronJobName: "apisix-etcd-backup",
        intervalSeconds: 6 * 3600,
        successMetric: "logging_googleapis_com:user_apisix_etcd_apisix_prod_etcd_apisix_etcd_backup_succeeded",
    },
    authBootstrap: {
        cronJobName: "apisix-etcd-auth",
        intervalSeconds: 3600,
        successMetric: "logging_googleapis_com:user_apisix_etcd_apisix_prod_etcd_apisix_etcd_auth_succeeded",
    },
    membershipChecks: "logging_googleapis_com:user_apisix_etcd_apisix_prod_etcd_apisix_etcd_membership_checks",
    runbookBaseUrl: "https://example.com/apisix-etcd/docs/runbooks.md",
};

export const OPERATOR_SCOPE: AlertScope = {
    ...PROD_SCOPE,
    platform: { source: "kubernetes" },
    backup: { cronJobName: "apisix-etcd-backup", intervalSeconds: 6 * 3600 },
    authBootstrap: { cronJobName: "apisix-etcd-auth", intervalSeconds: 3600 },
    membershipChecks: undefined,
};
