/**
 * On GKE the alerts EtcdBackupStale and EtcdAuthConvergenceStale count the lines the jobs log on success
 * (log-based metrics). Those lines are the jobs' own: this test takes each metric's filter from the
 * rendered prod plan, finds the container it names in the rendered CronJob, runs that container's own
 * success line with bash (as its script would, with the values the job has) and checks the filter's
 * pattern matches what it prints, and that a failure line does not. A job that changes its success line
 * or its container's name fails here, not silently on GKE.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findManifest, renderedPlan, RenderedManifest } from "./rendered-plan";

interface SuccessFilter {
    readonly podNamePrefix: RegExp;
    readonly container: string;
    readonly line: RegExp;
}

/** The parts of a log-based metric's filter this test checks, as Cloud Logging reads them (RE2 patterns, which these are in JS too). */
function successFilterOf(filter: string): SuccessFilter {
    const value = (field: string, op: string) => {
        const line = filter.split("\n").find((l) => l.startsWith(`${field}${op}`));
        if (!line) throw new Error(`no ${field}${op} in ${filter}`);
        return JSON.parse(line.slice(field.length + op.length)) as string;
    };
    return {
        podNamePrefix: new RegExp(value("resource.labels.pod_name", "=~")),
        container: value("resource.labels.container_name", "="),
        line: new RegExp(value("textPayload", "=~")),
    };
}

/** The filter of the log-based metric counting `cronJobName`'s successes. */
function filterFor(cronJobName: string): SuccessFilter {
    const metric = renderedPlan().plan.resources.find((r) => r.type === "gcp:logging/metric:Metric" && r.inputs.name.includes(`/${cronJobName}/`));
    if (!metric) throw new Error(`no log-based metric for ${cronJobName}`);
    return successFilterOf(metric.inputs.filter);
}

function containerOf(cronJob: RenderedManifest, name: string): any {
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    const container = [...(pod.initContainers ?? []), ...pod.containers].find((c: any) => c.name === name);
    if (!container) throw new Error(`${cronJob.metadata.name} has no container ${name}`);
    return container;
}

/** What bash prints for `lines` (the script's own), with `env`. */
function run(lines: readonly string[], env: Record<string, string>): string[] {
    const result = spawnSync("bash", ["-c", lines.join("\n")], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8", timeout: 10_000 });
    if (result.status !== 0) throw new Error(`bash exited ${result.status}: ${result.stderr}`);
    return result.stdout.split("\n").filter((l) => l !== "");
}

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-success-logs-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the backup's upload step prints the line its metric counts, only once the object is in the bucket", () => {
    const cronJob = findManifest(renderedPlan().manifests, "CronJob", "apisix-etcd-backup");
    const filter = filterFor("apisix-etcd-backup");
    expect(filter.podNamePrefix.test("apisix-etcd-backup-29412345-x7k2p")).toBe(true);
    const upload = containerOf(cronJob, filter.container);
    const script: string = upload.command[upload.command.length - 1];
    const env = Object.fromEntries(upload.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    // The script's line that reports the upload, run as the script runs it (after the upload command),
    // with the line that measures the size it reports.
    const reports = script.split("\n").filter((line) => /^(size=|echo "uploaded )/.test(line));
    expect(reports).toHaveLength(2);
    const snapshot = path.join(dir, "snapshot.db");
    fs.writeFileSync(snapshot, "x".repeat(123));
    const [printed] = run([`object=etcd/2026/apisix-etcd-20260101T001700Z.db`, ...reports], { ...env, SNAPSHOT: snapshot });
    expect(printed).toBe(`uploaded gs://${env.BUCKET}/etcd/2026/apisix-etcd-20260101T001700Z.db (123 bytes)`);
    expect(filter.line.test(printed)).toBe(true);
    // Not another bucket's, not another folder's, not an error naming the object.
    expect(filter.line.test(printed.replace(env.BUCKET, "other-bucket"))).toBe(false);
    expect(filter.line.test(printed.replace("/etcd/", "/other/"))).toBe(false);
    expect(filter.line.test(`ERROR: failed to upload gs://${env.BUCKET}/etcd/2026/x.db`)).toBe(false);
    // The line comes after the upload, under `set -e`: a failed upload never prints it.
    expect(script.startsWith("set -euo pipefail\n")).toBe(true);
});

test("the auth bootstrap prints the line its metric counts once etcd is as declared, and not on failure", () => {
    const filter = filterFor("apisix-etcd-auth");
    const cronJob = findManifest(renderedPlan().manifests, "CronJob", "apisix-etcd-auth");
    const auth = containerOf(cronJob, filter.container);
    const script: string = auth.command[auth.command.length - 1];
    // Its summary lines (`done: ...`), run for 0, 1 and 3 changes, and its failure line.
    const summary = script.slice(script.indexOf("case $changes in"));
    const printed = [0, 1, 3].flatMap((changes) => run([`changes=${changes}`, summary], {}));
    expect(printed).toEqual(["done: no change", "done: 1 change", "done: 3 changes"]);
    for (const line of printed) expect(filter.line.test(line)).toBe(true);
    const failure = run([script.split("\n").find((line) => line.startsWith("fail() {"))!, "(fail members unreachable) || true"], {});
    expect(failure).toEqual(["FAILED: members unreachable"]);
    expect(filter.line.test(failure[0])).toBe(false);
    // Both the Job of each `pulumi up` and the CronJob's pods are counted: each is a convergence.
    const job = findManifest(renderedPlan().manifests, "Job", "apisix-etcd-auth");
    expect(filter.podNamePrefix.test(`${job.metadata.name}-x7k2p`)).toBe(true);
    expect(filter.podNamePrefix.test("apisix-etcd-auth-29412345-x7k2p")).toBe(true);
    expect(filter.podNamePrefix.test("apisix-etcd-backup-29412345-x7k2p")).toBe(false);
});
