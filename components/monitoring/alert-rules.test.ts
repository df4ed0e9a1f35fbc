/**
 * The alert rules as rendered for the prod stack's names, on each platform: valid PromQL by Prometheus'
 * own grammar, the thresholds of alert-rules.ts and nothing else, and a runbook section for every alert.
 * (test/monitoring has the tests that need etcd or promtool.)
 */
import * as fs from "fs";
import * as path from "path";
import { OPERATOR_SCOPE, PROD_SCOPE } from "../../test/monitoring/alert-scope";
import { readPromql } from "../../test/monitoring/promql";
import { quorum } from "../etcd/cluster";
import { AlertDefinition, AlertingRule, alertNamesOn, alertRuleGroups, alertsFor, AlertScope, ETCD_ALERTS, MEMBERSHIP_LOG_ALERTS, MetricSource, numbersAbove, RULE_GROUP_NAMES } from "./alert-rules";

const SCOPES: [string, AlertScope][] = [
    ["on GKE (Google Cloud's metrics)", PROD_SCOPE],
    ["with a Prometheus Operator (kube-state-metrics, kubelet)", OPERATOR_SCOPE],
];
const sourceOfGroup = (name: string) => (Object.entries(RULE_GROUP_NAMES).find(([, group]) => group === name)![0] as MetricSource);

/** Each rendered rule with the definition it came from. */
function renderedRules(scope: AlertScope): { rule: AlertingRule; definition: AlertDefinition }[] {
    return alertRuleGroups(scope).flatMap((group) =>
        group.rules.map((rule) => ({
            rule,
            definition: ETCD_ALERTS.find((d) => d.alert === rule.alert && d.source === sourceOfGroup(group.name))!,
        })),
    );
}

test("every alert is defined once per source, and each platform gets every alert once (the membership lines' only on Google Cloud)", () => {
    const keys = ETCD_ALERTS.map((d) => `${d.alert}/${d.source}`);
    expect(new Set(keys).size).toBe(keys.length);
    const names = [...new Set(ETCD_ALERTS.map((d) => d.alert))];
    for (const [, scope] of SCOPES) {
        const rendered = alertRuleGroups(scope).flatMap((g) => g.rules.map((r) => r.alert));
        const expected = scope.platform.source === "google-cloud" ? names : names.filter((name) => !(MEMBERSHIP_LOG_ALERTS as readonly string[]).includes(name));
        expect([...rendered].sort()).toEqual([...expected].sort());
    }
});

test("the platform's alerts are the same on both platforms, but for those on the membership lines, which a Prometheus does not read", () => {
    expect(alertNamesOn("google-cloud", ["backup", "authBootstrap"])).toEqual([...alertNamesOn("kubernetes", ["backup", "authBootstrap"]), ...MEMBERSHIP_LOG_ALERTS]);
    expect(alertNamesOn("kubernetes", ["backup", "authBootstrap"])).toEqual(["EtcdVolumeNearlyFull", "EtcdBackupStale", "EtcdAuthConvergenceStale"]);
});

test.each([
    [0, ["1", "9", "10", "123"], ["0"]],
    [3, ["4", "9", "10", "42", "100"], ["0", "3", "03"]],
    [9, ["10", "99", "100"], ["9", "1"]],
    [12, ["13", "19", "20", "99", "130"], ["12", "11", "2", "1"]],
    [19, ["20", "25"], ["19", "10"]],
    [85, ["86", "89", "90", "99", "100"], ["85", "80", "9"]],
    [98, ["99", "100"], ["98", "9"]],
])("numbersAbove(%i), fully anchored as PromQL anchors it", (n, above, notAbove) => {
    const pattern = new RegExp(`^(?:${numbersAbove(n)})$`);
    for (const value of above) expect(pattern.test(value)).toBe(true);
    for (const value of notAbove) expect(pattern.test(value)).toBe(false);
});

test("on GKE nothing reads kube-state-metrics or the kubelet, which GKE's managed collection does not feed", () => {
    const exprs = alertRuleGroups(PROD_SCOPE).flatMap((g) => g.rules.map((r) => r.expr));
    const metrics = exprs.flatMap((expr) => readPromql(expr).metricNames);
    expect(metrics.filter((name) => /^(kube_|kubelet_)/.test(name))).toEqual([]);
    expect(alertRuleGroups(PROD_SCOPE).map((g) => g.name)).toEqual(["etcd", "etcd-google-cloud"]);
    expect(alertRuleGroups(OPERATOR_SCOPE).map((g) => g.name)).toEqual(["etcd", "etcd-kubernetes"]);
});

describe.each(SCOPES)("%s", (_, scope) => {
    const rules = renderedRules(scope);

    test("groups are evaluated as often as the members are scraped", () => {
        for (const group of alertRuleGroups(scope)) expect(group.interval).toBe("30s");
    });

    test.each([
        ["backup", "EtcdBackupStale"],
        ["authBootstrap", "EtcdAuthConvergenceStale"],
    ] as const)("without the %s CronJob there is no %s alert", (cronJob, alert) => {
        const without = alertsFor({ ...scope, [cronJob]: undefined }).map((d) => d.alert);
        expect(without).toEqual(alertsFor(scope).map((d) => d.alert).filter((name) => name !== alert));
    });

    describe("PromQL, by Prometheus' own grammar", () => {
        test.each(rules.map(({ rule }) => [rule.alert, rule.expr]))("%s parses", (_, expr) => {
            expect(readPromql(expr).errorsAt).toEqual([]);
        });

        test("each expression selects only the members' namespace (and on Google Cloud, the cluster)", () => {
            for (const { rule, definition } of rules) {
                for (const selector of rule.expr.match(/\b[a-z_:]+\{[^}]*\}/g) ?? []) {
                    if (definition.source === "google-cloud") {
                        expect(`${rule.alert}: ${selector}`).toContain('cluster_name="apisix-prod", namespace_name="etcd"');
                    } else {
                        expect(`${rule.alert}: ${selector}`).toContain('namespace="etcd"');
                    }
                }
            }
        });
    });

    describe("thresholds: the rendered rules carry those documented in alert-rules.ts, and no others", () => {
        test.each(rules.map(({ rule, definition }) => [`${rule.alert} (${definition.source})`, rule, definition] as const))("%s", (_, rule, definition) => {
            const compared = readPromql(rule.expr).numberComparisons.map((c) => c.value);
            // A CronJob's age in intervals is a duration in the expression, not a number compared with.
            const documented = Object.entries(definition.thresholds)
                .filter(([name]) => !(definition.cronJob && name === "intervals"))
                .map(([, value]) => value);
            for (const value of documented) {
                expect(compared).toContain(value);
            }
            // Anything else compared against is structure: up == 0 / == 1, and the cluster's size and quorum.
            const structural = [0, 1, scope.replicas, quorum(scope.replicas)];
            const cronJobAge = definition.cronJob ? [definition.thresholds.intervals * scope[definition.cronJob]!.intervalSeconds] : [];
            expect(compared.filter((value) => !documented.includes(value) && !structural.includes(value) && !cronJobAge.includes(value))).toEqual([]);
            expect(rule.labels).toEqual({ severity: definition.severity });
            if (typeof definition.for === "string") expect(rule.for).toBe(definition.for);
        });
    });

    describe("annotations and runbooks", () => {
        const runbooks = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "runbooks.md"), "utf8");
        const sections = [...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);

        test.each(rules.map(({ rule }) => [rule.alert, rule]))("%s has a summary, a description and its runbook", (_, rule) => {
            expect(rule.annotations.summary).toMatch(/\S/);
            expect(rule.annotations.description).toMatch(/\S/);
            expect(rule.annotations.runbook_url).toBe(`${scope.runbookBaseUrl}#${rule.alert.toLowerCase()}`);
            expect(sections).toContain(rule.alert);
        });
    });
});

describe("a CronJob may go `intervals` of its schedule without a success", () => {
    test("kube-state-metrics: the newest success may be twice the backup's 6h old", () => {
        const backup = alertRuleGroups(OPERATOR_SCOPE).flatMap((g) => g.rules).find((r) => r.alert === "EtcdBackupStale")!;
        expect(readPromql(backup.expr).numberComparisons).toEqual([
            { op: ">", value: 12 * 3600 },
            { op: ">", value: 12 * 3600 },
        ]);
        expect(new Set(backup.expr.match(/cronjob="[^"]*"/g))).toEqual(new Set(['cronjob="apisix-etcd-backup"']));
    });

    test("Google Cloud: no success line within (intervals - 1) intervals, for one interval and 15 minutes more", () => {
        const rules = alertRuleGroups(PROD_SCOPE).flatMap((g) => g.rules);
        const backup = rules.find((r) => r.alert === "EtcdBackupStale")!;
        expect(backup.expr).toBe(
            `absent_over_time(${PROD_SCOPE.backup!.successMetric}{monitored_resource="k8s_container", cluster_name="apisix-prod", namespace_name="etcd"}[6h])`,
        );
        expect(backup.for).toBe("375m");
        const intervals = ETCD_ALERTS.find((d) => d.alert === "EtcdAuthConvergenceStale")!.thresholds.intervals;
        const auth = rules.find((r) => r.alert === "EtcdAuthConvergenceStale")!;
        expect(auth.expr).toContain(`${PROD_SCOPE.authBootstrap!.successMetric}{`);
        expect(auth.expr).toContain(`[${intervals - 1}h]`);
        expect(auth.for).toBe("75m");
        expect(auth.annotations.description).toMatch(new RegExp(`^No run of CronJob apisix-etcd-auth has converged the users within ${intervals}h `));
    });
});

test("docs/runbooks.md has a section for each alert and none for an alert that does not exist", () => {
    const runbooks = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "runbooks.md"), "utf8");
    const sections = [...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual([...new Set(ETCD_ALERTS.map((d) => d.alert))]);
});

test("each threshold is documented where it is set", () => {
    const source = fs.readFileSync(path.join(__dirname, "alert-rules.ts"), "utf8");
    const undocumented = ETCD_ALERTS.flatMap((definition) => {
        const start = source.indexOf(`alert: "${definition.alert}"`);
        const end = source.indexOf(`alert: "`, start + 1);
        const text = source.slice(start, end < 0 ? undefined : end);
        // The key follows the end of a comment: `/** ... */ name: value`.
        return Object.keys(definition.thresholds).filter((name) => !new RegExp(`\\*/\\s*${name}: `).test(text)).map((name) => `${definition.alert}.${name}`);
    });
    expect(undocumented).toEqual([]);
});
