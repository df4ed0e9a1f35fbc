/**
 * EtcdMonitoring under Pulumi's mock runtime, built from an EtcdCluster's outputs as index.ts builds
 * it: the objects each collector reads, and that they select what the cluster declares (member pods,
 * metrics port, claims).
 */
import { parse } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { RegisteredResource } from "../../plan/recording-monitor";
import { PROD_CLUSTER_ARGS } from "../../test/cluster-args";
import { childrenOf, declareUnderMocks } from "../../test/component-mocks";
import { OPERATOR_SCOPE, PROD_SCOPE } from "../../test/monitoring/alert-scope";
import { EtcdCluster, EtcdClusterArgs } from "../etcd/cluster";
import { MEMBERS_LINE } from "../etcd/membership-scripts";
import { scheduledJobLabels } from "../scheduled-job";
import { alertRuleGroups } from "./alert-rules";
import { EtcdMonitoring, EtcdMonitoringArgs } from "./etcd-monitoring";

const CHANNEL = "projects/apisix-prod/notificationChannels/1234567890";

const clusterArgs: EtcdClusterArgs = { ...PROD_CLUSTER_ARGS, protect: false };

let resources: RegisteredResource[];
let monitoringArgs: EtcdMonitoringArgs;
const errors: string[] = [];

beforeAll(async () => {
    resources = await declareUnderMocks(() => {
        const cluster = new EtcdCluster("cluster", clusterArgs);
        monitoringArgs = {
            namespace: cluster.namespace,
            name: "apisix-etcd",
            flavor: "gmp",
            memberLabels: cluster.memberLabels,
            metricsPort: "metrics",
            statefulSetName: cluster.statefulSet.metadata.name,
            replicas: clusterArgs.replicas,
            dataClaimNames: cluster.dataClaimNames,
            dataVolumeName: cluster.dataVolumeName,
            googleCloud: { project: "apisix-prod", clusterName: "apisix-prod", notificationChannels: [CHANNEL] },
            backup: {
                cronJobName: pulumi.output("apisix-etcd-backup"),
                intervalSeconds: 6 * 3600,
                successLog: { container: "upload", line: pulumi.output("^uploaded gs://apisix-prod-apisix-etcd-backups/etcd/") },
            },
            authBootstrap: { cronJobName: pulumi.output("apisix-etcd-auth"), intervalSeconds: 3600, successLog: { container: "auth", line: "^done: " } },
            membershipLog: { container: "membership", line: MEMBERS_LINE },
            runbookBaseUrl: PROD_SCOPE.runbookBaseUrl,
            instanceLabels: cluster.instanceLabels,
        };
        new EtcdMonitoring("gmp", monitoringArgs);
        new EtcdMonitoring("operator", { ...monitoringArgs, flavor: "prometheus-operator", googleCloud: undefined, labels: { release: "kube-prometheus-stack" } });
        new EtcdMonitoring("no-backup", { ...monitoringArgs, backup: undefined });
        new EtcdMonitoring("no-auth", { ...monitoringArgs, authBootstrap: undefined });
        const invalid: Partial<EtcdMonitoringArgs>[] = [
            { memberLabels: {} },
            { replicas: 0 },
            { dataClaimNames: [] },
            { backup: { cronJobName: "apisix-etcd-backup", intervalSeconds: 0 } },
            { authBootstrap: { cronJobName: "apisix-etcd-auth", intervalSeconds: 1.5 } },
            { runbookBaseUrl: "" },
            { runbookBaseUrl: "https://example.com/runbooks.md#etcd" },
            { googleCloud: undefined },
            { backup: { cronJobName: "apisix-etcd-backup", intervalSeconds: 3600 } },
            { membershipLog: undefined },
        ];
        for (const [index, change] of invalid.entries()) {
            try {
                new EtcdMonitoring(`invalid-${index}`, { ...monitoringArgs, ...change });
            } catch (error) {
                expect(error).toBeInstanceOf(pulumi.ResourceError);
                errors.push((error as Error).message);
            }
        }
    });
});

/** The Kubernetes objects a component declared. */
const objectsOf = (component: string) =>
    childrenOf(resources, "apisix-etcd:index:EtcdMonitoring", component)
        .filter((r) => r.type.startsWith("kubernetes:"))
        .map((r) => r.inputs as any);
const ofKind = (component: string, kind: string) => objectsOf(component).find((o) => o.kind === kind);
const statefulSet = () => resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet")!.inputs as any;

const googleCloudOf = (component: string, type: string) =>
    childrenOf(resources, "apisix-etcd:index:EtcdMonitoring", component)
        .filter((r) => r.type === type)
        .map((r) => r.inputs as any);

describe("on GKE's managed Prometheus", () => {
    test("declares a PodMonitoring and a Rules object in the members' namespace, three log-based metrics and five alert policies", () => {
        expect(objectsOf("gmp").map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
            "monitoring.googleapis.com/v1 PodMonitoring etcd/apisix-etcd",
            "monitoring.googleapis.com/v1 Rules etcd/apisix-etcd-alerts",
        ]);
        expect(googleCloudOf("gmp", "gcp:logging/metric:Metric").map((m) => m.name)).toEqual([
            "apisix-etcd/apisix-prod/etcd/apisix-etcd-backup/succeeded",
            "apisix-etcd/apisix-prod/etcd/apisix-etcd-auth/succeeded",
            "apisix-etcd/apisix-prod/etcd/apisix-etcd/membership-checks",
        ]);
        expect(googleCloudOf("gmp", "gcp:monitoring/alertPolicy:AlertPolicy").map((p) => p.displayName)).toEqual([
            "EtcdVolumeNearlyFull (apisix-prod/etcd)",
            "EtcdBackupStale (apisix-prod/etcd)",
            "EtcdAuthConvergenceStale (apisix-prod/etcd)",
            "EtcdMemberNeverStarted (apisix-prod/etcd)",
            "EtcdMembersBeyondReplicas (apisix-prod/etcd)",
        ]);
    });

    test("the Rules object holds only the alerts on the members' own series: a namespaced Rules sees nothing else", () => {
        expect(ofKind("gmp", "Rules").spec.groups.map((g: any) => g.name)).toEqual(["etcd"]);
    });

    test("each log-based metric counts the success lines of its job's container, in this cluster's namespace only", () => {
        const [backup, auth, membership] = googleCloudOf("gmp", "gcp:logging/metric:Metric");
        expect(backup.project).toBe("apisix-prod");
        expect(backup.filter.split("\n")).toEqual([
            'resource.type="k8s_container"',
            'resource.labels.cluster_name="apisix-prod"',
            'resource.labels.namespace_name="etcd"',
            'resource.labels.pod_name=~"^apisix-etcd-backup-"',
            'resource.labels.container_name="upload"',
            'textPayload=~"^uploaded gs://apisix-prod-apisix-etcd-backups/etcd/"',
        ]);
        expect(auth.filter).toContain('resource.labels.container_name="auth"\ntextPayload=~"^done: "');
        expect(backup.metricDescriptor).toEqual({ metricKind: "DELTA", valueType: "INT64", unit: "1" });
        // The members' membership lines, labelled with the counts they name.
        expect(membership.filter).toContain('resource.labels.pod_name=~"^apisix-etcd-[0-9]+$"\nresource.labels.container_name="membership"');
        expect(membership.labelExtractors).toEqual({
            registered: 'REGEXP_EXTRACT(textPayload, " registered=([0-9]+)")',
            unstarted: 'REGEXP_EXTRACT(textPayload, " unstarted=([0-9]+)")',
        });
        expect(membership.metricDescriptor.labels.map((l: any) => `${l.key}:${l.valueType}`)).toEqual(["registered:STRING", "unstarted:STRING"]);
    });

    test("the alerts on the registered members select the membership lines by their counts; beyond replicas is a number above 3", () => {
        const policies = googleCloudOf("gmp", "gcp:monitoring/alertPolicy:AlertPolicy");
        const query = (alert: string) => policies.find((p) => p.displayName.startsWith(alert)).conditions[0].conditionPrometheusQueryLanguage.query;
        expect(query("EtcdMemberNeverStarted")).toContain(`${PROD_SCOPE.membershipChecks}{monitored_resource="k8s_container", cluster_name="apisix-prod", namespace_name="etcd", unstarted!="0"}`);
        expect(query("EtcdMembersBeyondReplicas")).toContain('registered=~"[4-9]|[1-9][0-9]|[1-9][0-9][0-9]+"');
    });

    test("every alert policy notifies the configured channels", () => {
        const policies = googleCloudOf("gmp", "gcp:monitoring/alertPolicy:AlertPolicy");
        expect(policies.length).toBeGreaterThan(0);
        for (const policy of policies) expect(policy.notificationChannels).toEqual([CHANNEL]);
    });

    test("each alert policy is the rendered rule: its PromQL, its `for` in seconds, its labels and runbook", () => {
        const googleCloud = alertRuleGroups(PROD_SCOPE).find((g) => g.name === "etcd-google-cloud")!;
        const policies = googleCloudOf("gmp", "gcp:monitoring/alertPolicy:AlertPolicy");
        expect(policies.map((p) => p.conditions[0].conditionPrometheusQueryLanguage.query)).toEqual(googleCloud.rules.map((r) => r.expr));
        const backup = policies.find((p) => p.displayName.startsWith("EtcdBackupStale"));
        expect(backup).toMatchObject({
            project: "apisix-prod",
            combiner: "OR",
            severity: "WARNING",
            conditions: [
                {
                    conditionPrometheusQueryLanguage: {
                        duration: `${6 * 3600 + 15 * 60}s`,
                        evaluationInterval: "30s",
                        alertRule: "EtcdBackupStale",
                        ruleGroup: "etcd-google-cloud",
                        labels: { severity: "warning" },
                        disableMetricValidation: true,
                    },
                },
            ],
        });
        expect(backup.documentation.content).toContain(`Runbook: ${PROD_SCOPE.runbookBaseUrl}#etcdbackupstale`);
        const volume = policies.find((p) => p.displayName.startsWith("EtcdVolumeNearlyFull"));
        expect(volume.conditions[0].conditionPrometheusQueryLanguage).toMatchObject({ duration: "600s", disableMetricValidation: false });
    });

    test("scrapes the members' metrics port every 30 s; the PodMonitoring's name is the job the rules select", () => {
        expect(ofKind("gmp", "PodMonitoring").spec).toEqual({
            selector: { matchLabels: statefulSet().spec.selector.matchLabels },
            endpoints: [{ port: "metrics", interval: "30s" }],
        });
        expect(ofKind("gmp", "Rules").spec.groups[0].rules[0].expr).toContain('job="apisix-etcd"');
    });

    test("holds the alert rules of alert-rules.ts for the cluster's names", () => {
        expect(ofKind("gmp", "Rules").spec).toEqual({ groups: alertRuleGroups(PROD_SCOPE).filter((g) => g.name === "etcd") });
    });

    test("labels both objects as part of the stack", () => {
        for (const object of objectsOf("gmp")) {
            expect(object.metadata.labels).toEqual({
                "app.kubernetes.io/instance": "apisix-etcd",
                "app.kubernetes.io/part-of": "apisix",
                "app.kubernetes.io/component": "monitoring",
                "app.kubernetes.io/managed-by": "pulumi",
            });
        }
    });
});

describe("with the Prometheus Operator", () => {
    test("declares a PodMonitor and a PrometheusRule, with the labels the operator selects them by", () => {
        expect(objectsOf("operator").map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
            "monitoring.coreos.com/v1 PodMonitor etcd/apisix-etcd",
            "monitoring.coreos.com/v1 PrometheusRule etcd/apisix-etcd-alerts",
        ]);
        for (const object of objectsOf("operator")) {
            expect(object.metadata.labels).toMatchObject({ release: "kube-prometheus-stack", "app.kubernetes.io/instance": "apisix-etcd" });
        }
    });

    test("scrapes the same pods and port, and names the job as under GMP", () => {
        expect(ofKind("operator", "PodMonitor").spec).toEqual({
            selector: { matchLabels: statefulSet().spec.selector.matchLabels },
            podMetricsEndpoints: [{ port: "metrics", interval: "30s", relabelings: [{ action: "replace", targetLabel: "job", replacement: "apisix-etcd" }] }],
        });
    });

    test("holds the members' rules and those on kube-state-metrics and the kubelet, and declares nothing in Google Cloud", () => {
        expect(ofKind("operator", "PrometheusRule").spec).toEqual({ groups: alertRuleGroups(OPERATOR_SCOPE) });
        expect(childrenOf(resources, "apisix-etcd:index:EtcdMonitoring", "operator").filter((r) => r.type.startsWith("gcp:"))).toEqual([]);
    });
});

describe("what the objects select is what the EtcdCluster declares", () => {
    test("the selector matches the member pods, and not the pods of the stack's jobs beside them", () => {
        const selector: Record<string, string> = ofKind("gmp", "PodMonitoring").spec.selector.matchLabels;
        const selects = (labels: Record<string, string>) => Object.entries(selector).every(([name, value]) => labels[name] === value);
        expect(selects(statefulSet().spec.template.metadata.labels)).toBe(true);
        expect(selects(scheduledJobLabels(monitoringArgs.instanceLabels, "backup"))).toBe(false);
    });

    test("the scraped port is the etcd container's named port that serves /metrics", () => {
        const container = statefulSet().spec.template.spec.containers.find((c: any) => c.name === "etcd");
        const port = container.ports.find((p: any) => p.name === "metrics");
        const declared = resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.inputs as any).metadata.name === "apisix-etcd-config")!.inputs as any;
        const listen = parse(declared.data["etcd.yaml"])["listen-metrics-urls"];
        expect(listen).toBe(`http://0.0.0.0:${port.containerPort}`);
    });

    test("the rules name the StatefulSet's claims as the kubelet labels them, and its pods and data volume as Google Cloud does", () => {
        const sts = statefulSet();
        const claims = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.spec.volumeClaimTemplates[0].metadata.name}-${sts.metadata.name}-${i}`);
        const operatorExprs = ofKind("operator", "PrometheusRule").spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr)).join("\n");
        expect(operatorExprs).toContain(`persistentvolumeclaim=~"${claims.join("|")}"`);
        expect(operatorExprs).toContain(`namespace="${sts.metadata.namespace}"`);
        const volume = googleCloudOf("gmp", "gcp:monitoring/alertPolicy:AlertPolicy")[0].conditions[0].conditionPrometheusQueryLanguage.query;
        const podVolume = sts.spec.template.spec.containers.find((c: any) => c.name === "etcd").volumeMounts.find((m: any) => m.mountPath === "/var/lib/etcd").name;
        expect(volume).toContain(`pod_name=~"${sts.metadata.name}-[0-9]+", volume_name="${podVolume}"`);
        expect(volume).toContain(`namespace_name="${sts.metadata.namespace}"`);
    });
});

test.each([
    ["no-backup", "EtcdBackupStale"],
    ["no-auth", "EtcdAuthConvergenceStale"],
])("%s: without its CronJob there is no %s alert (nor its log-based metric), and all the others", (component, alert) => {
    const policies = googleCloudOf(component, "gcp:monitoring/alertPolicy:AlertPolicy").map((p) => p.conditions[0].conditionPrometheusQueryLanguage.alertRule);
    const alerts = [...ofKind(component, "Rules").spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert)), ...policies];
    expect(alerts).toEqual(alertRuleGroups(PROD_SCOPE).flatMap((g) => g.rules.map((r) => r.alert)).filter((name) => name !== alert));
    expect(googleCloudOf(component, "gcp:logging/metric:Metric")).toHaveLength(2);
});

test("refuses arguments that would monitor the wrong thing, or nothing", () => {
    expect(errors).toEqual([
        expect.stringContaining("memberLabels must not be empty"),
        expect.stringContaining("replicas must be a positive integer, got 0"),
        expect.stringContaining("dataClaimNames must name at least one"),
        expect.stringContaining("backup.intervalSeconds must be a positive integer, got 0"),
        expect.stringContaining("authBootstrap.intervalSeconds must be a positive integer, got 1.5"),
        expect.stringContaining('runbookBaseUrl must be a non-empty URL without a fragment, got ""'),
        expect.stringContaining("without a fragment"),
        expect.stringContaining("flavor gmp needs googleCloud (the project and the GKE cluster's name)"),
        expect.stringContaining("backup.successLog must name the line its pods log on success"),
        expect.stringContaining("membershipLog must name the line the membership containers log"),
    ]);
});
