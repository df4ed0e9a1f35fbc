/**
 * The alert rules as rendered for the prod stack's names: valid PromQL by Prometheus' own grammar,
 * the thresholds of alert-rules.ts and nothing else, and a runbook section for every alert.
 * (test/monitoring has the tests that need etcd or promtool.)
 */
import * as fs from "fs";
import * as path from "path";
import { PROD_SCOPE } from "../../test/monitoring/alert-scope";
import { readPromql } from "../../test/monitoring/promql";
import { quorum } from "../etcd/cluster";
import { AlertDefinition, AlertingRule, alertRuleGroups, alertsFor, ETCD_ALERTS } from "./alert-rules";

const rules: AlertingRule[] = alertRuleGroups(PROD_SCOPE).flatMap((group) => group.rules);
const definitionOf = (rule: AlertingRule) => ETCD_ALERTS.find((d) => d.alert === rule.alert)!;

test("renders every alert once, in two groups evaluated as often as the members are scraped", () => {
    expect(rules.map((r) => r.alert)).toEqual(ETCD_ALERTS.map((d) => d.alert));
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    expect(alertRuleGroups(PROD_SCOPE).map((g) => [g.name, g.interval])).toEqual([
        ["etcd", "30s"],
        ["etcd-kubernetes", "30s"],
    ]);
});

test.each([
    ["backup", "EtcdBackupStale"],
    ["authBootstrap", "EtcdAuthConvergenceStale"],
] as const)("without the %s CronJob there is no %s alert", (cronJob, alert) => {
    const without = alertsFor({ ...PROD_SCOPE, [cronJob]: undefined }).map((d) => d.alert);
    expect(without).toEqual(ETCD_ALERTS.map((d) => d.alert).filter((name) => name !== alert));
});

describe("PromQL, by Prometheus' own grammar", () => {
    test.each(rules.map((r) => [r.alert, r.expr]))("%s parses", (_, expr) => {
        expect(readPromql(expr).errorsAt).toEqual([]);
    });

    test("a broken expression does not, so the check can fail", () => {
        expect(readPromql('sum by (pod (rate(up{job="x"}[5m]))').errorsAt).not.toEqual([]);
        expect(readPromql("up{job=}").errorsAt).not.toEqual([]);
        expect(readPromql("rate(up[5m]) >").errorsAt).not.toEqual([]);
    });

    test("each expression selects only the members' namespace", () => {
        for (const rule of rules) {
            for (const selector of rule.expr.match(/\b[a-z_]+\{[^}]*\}/g) ?? []) {
                expect(`${rule.alert}: ${selector}`).toContain('namespace="etcd"');
            }
        }
    });
});

describe("thresholds: the rendered rules carry those documented in alert-rules.ts, and no others", () => {
    /** What a threshold becomes in the expression: itself, but a CronJob's age in intervals becomes seconds. */
    const rendered = ({ cronJob }: AlertDefinition, name: string, value: number) =>
        cronJob && name === "intervals" ? value * PROD_SCOPE[cronJob]!.intervalSeconds : value;

    test.each(rules.map((r) => [r.alert, r]))("%s", (_, rule) => {
        const definition = definitionOf(rule);
        const compared = readPromql(rule.expr).numberComparisons.map((c) => c.value);
        const documented = Object.entries(definition.thresholds).map(([name, value]) => rendered(definition, name, value));
        for (const value of documented) {
            expect(compared).toContain(value);
        }
        // Anything else compared against is structure: up == 0 / == 1, and the cluster's size and quorum.
        const structural = [0, 1, PROD_SCOPE.replicas, quorum(PROD_SCOPE.replicas)];
        expect(compared.filter((value) => !documented.includes(value) && !structural.includes(value))).toEqual([]);
        expect(rule.for).toBe(definition.for);
        expect(rule.labels).toEqual({ severity: definition.severity });
    });

    test("the backup may be twice its schedule's interval old: 12h for a backup every 6h", () => {
        const backup = rules.find((r) => r.alert === "EtcdBackupStale")!;
        expect(readPromql(backup.expr).numberComparisons).toEqual([
            { op: ">", value: 12 * 3600 },
            { op: ">", value: 12 * 3600 },
        ]);
    });

    test("the auth bootstrap's CronJob, run hourly, may go `intervals` hours without a success", () => {
        const intervals = ETCD_ALERTS.find((d) => d.alert === "EtcdAuthConvergenceStale")!.thresholds.intervals;
        const auth = rules.find((r) => r.alert === "EtcdAuthConvergenceStale")!;
        expect(readPromql(auth.expr).numberComparisons).toEqual([
            { op: ">", value: intervals * 3600 },
            { op: ">", value: intervals * 3600 },
        ]);
        // Its own CronJob's series, not the backup's.
        expect(new Set(auth.expr.match(/cronjob="[^"]*"/g))).toEqual(new Set(['cronjob="apisix-etcd-auth"']));
        expect(auth.annotations.description).toMatch(new RegExp(`^No run of CronJob apisix-etcd-auth has succeeded within ${intervals}h `));
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
});

describe("annotations and runbooks", () => {
    const runbooks = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "runbooks.md"), "utf8");
    const sections = [...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);

    test.each(rules.map((r) => [r.alert, r]))("%s has a summary, a description and its runbook", (_, rule) => {
        expect(rule.annotations.summary).toMatch(/\S/);
        expect(rule.annotations.description).toMatch(/\S/);
        expect(rule.annotations.runbook_url).toBe(`${PROD_SCOPE.runbookBaseUrl}#${rule.alert.toLowerCase()}`);
        expect(sections).toContain(rule.alert);
    });

    test("docs/runbooks.md has a section for each alert and none for an alert that does not exist", () => {
        expect(sections).toEqual(ETCD_ALERTS.map((d) => d.alert));
    });
});
