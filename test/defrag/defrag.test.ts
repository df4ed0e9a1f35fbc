// The defragmentation CronJob of the rendered prod stack, run for real against a 3-member etcd 3.5
// started from the rendered StatefulSet: its container's command and env exactly as rendered
// (test/backup/pod-steps.ts), mapping only the members' addresses to loopback ones, /tmp to a folder,
// the user Secret to stand-in values (authentication is not enabled here), and kubectl to a stand-in
// that reports the backup Jobs as idle or active.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { etcdBinaries } from "../etcd/binaries";
import { LocalCluster } from "../etcd/local-cluster";
import { manifestConfigMaps, membersFromStatefulSet, type RenderedMemberSpec } from "../etcd/rendered-members";
import { makeMemberSecrets, USER_SECRET_KEY_REFS } from "../etcd/stack-secrets";
import { containerStep, type PodStep } from "../backup/pod-steps";

jest.setTimeout(60_000);

/** Not used by any other test file (.21-.23, .31-.33, .41-.43, .51-.53, .61). */
const IPS = ["127.0.0.71", "127.0.0.72", "127.0.0.73"];
const WAIT_MS = 20_000;
const KEYS = 20_000;
const VALUE = "x".repeat(1024);

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    /** Every /health answer of every member while the run went on. */
    health: { url: string; status: number; ms: number }[];
}

describe("the rendered defragmentation CronJob on real etcd", () => {
    let work: string;
    let cluster: LocalCluster;
    let members: RenderedMemberSpec[];
    let cronJob: RenderedManifest;
    let activeFile: string;
    let kubectlLog: string;
    let fakeBin: string;
    /** Rendered member URL -> local one. */
    const urls = new Map<string, string>();
    /** Milliseconds the set-up took, by phase (reported with the figures). */
    const phases: Record<string, number> = {};

    function step(): PodStep {
        const pod = cronJob.spec.jobTemplate.spec.template.spec;
        const replace: Record<string, string> = {};
        for (const [rendered, local] of urls) replace[new URL(rendered).host] = new URL(local).host;
        return containerStep(pod.containers[0], { volumes: { tmp: path.join(work, "tmp") }, replace, binaries: { sh: "/bin/sh" }, secretKeyRefs: USER_SECRET_KEY_REFS });
    }

    /** Runs the step as the kubelet would, polling every member's /health meanwhile. */
    async function runDefrag(): Promise<Run> {
        const s = step();
        const child = spawn(s.binary, s.args, { env: { PATH: `${fakeBin}:${process.env.PATH}`, ...s.env }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        let running = true;
        const health: Run["health"] = [];
        const live = [...urls.values()].filter((url) => cluster.runningMembers().some((name) => url.includes(members.find((m) => m.name === name)!.ip)));
        const poll = (async () => {
            while (running) {
                await Promise.all(
                    live.map(async (url) => {
                        const started = Date.now();
                        const status = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status, () => 0);
                        health.push({ url, status, ms: Date.now() - started });
                    }),
                );
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        const status = await exited;
        clearTimeout(killer);
        running = false;
        await poll;
        return { status, stdout, stderr, health };
    }

    const sizes = async () => Promise.all(members.map(async (m) => (await cluster.client(m.name).status()).dbSize));
    const defragmented = (out: string) => [...out.matchAll(/defragmenting (\S+) \((follower|leader)\)/g)].map((m) => [m[1], m[2]]);

    beforeAll(async () => {
        const bins = await etcdBinaries();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-defrag-"));
        fs.mkdirSync(path.join(work, "tmp"));
        fakeBin = path.join(work, "bin");
        fs.mkdirSync(fakeBin);
        activeFile = path.join(work, "active-backups");
        kubectlLog = path.join(work, "kubectl.log");
        fs.writeFileSync(activeFile, "");
        // `kubectl get jobs ... -o jsonpath={.items[*].status.active}`: the active counts of the backup Jobs.
        fs.writeFileSync(path.join(fakeBin, "kubectl"), `#!/bin/sh\necho "$*" >> '${kubectlLog}'\ncat '${activeFile}'\n`, { mode: 0o755 });

        const t0 = Date.now();
        const { manifests, plan } = renderedPlan("prod");
        phases.render = Date.now() - t0;
        cronJob = findManifest(manifests, "CronJob", "apisix-etcd-defrag");
        const { secrets } = makeMemberSecrets(path.join(work, "secrets"), { manifests, resources: plan.resources }, IPS);
        members = membersFromStatefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"), { ips: IPS, dataRoot: path.join(work, "data"), binDir: bins.binDir, secrets, configMaps: manifestConfigMaps(manifests) });
        const rendered = (cronJob.spec.jobTemplate.spec.template.spec.containers[0].env as { name: string; value: string }[]).find((e) => e.name === "MEMBERS")!.value.split(" ");
        expect(rendered).toHaveLength(3);
        rendered.forEach((url, i) => urls.set(url, `http://${IPS[i]}:2379`));

        cluster = new LocalCluster({ members, workDir: path.join(work, "logs"), etcdBinary: members[0].binary });
        await cluster.start();
        await cluster.waitHealthy(WAIT_MS);
        phases.start = Date.now() - t0 - phases.render;

        // 20 MiB written, then deleted and compacted away: free pages only a defragmentation returns.
        const entries = new Map<string, string>();
        for (let i = 0; i < KEYS; i++) entries.set(`/defrag/${String(i).padStart(6, "0")}`, VALUE);
        const { putAll } = await import("../backup/apisix-data");
        await putAll(urls.values().next().value!, entries);
        const client = cluster.client(members[0].name);
        expect(await client.deletePrefix("/defrag/")).toBe(KEYS);
        const revision = await client.put("/marker", "after-deletes");
        await client.compact(revision, true);
        phases.load = Date.now() - t0 - phases.render - phases.start;
    });

    afterAll(async () => {
        await cluster?.stopAll();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("with a backup Job active the run skips, exits 0 and defragments nothing", async () => {
        fs.writeFileSync(activeFile, "1");
        const before = await sizes();
        const run = await runDefrag();
        expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
        expect(run.stdout).toMatch(/SKIP: a backup Job is active \(app\.kubernetes\.io\/instance=apisix-etcd,\S*app\.kubernetes\.io\/component=backup\S*\); defragmented: none/);
        expect(defragmented(run.stdout)).toEqual([]);
        expect(await sizes()).toEqual(before);
        expect(fs.readFileSync(kubectlLog, "utf8")).toMatch(/^--namespace etcd get jobs --selector \S+ --output jsonpath=\{\.items\[\*\]\.status\.active\}$/m);
        fs.writeFileSync(activeFile, "");
    });

    test("with one member stopped the run skips, exits 0 and defragments nothing", async () => {
        const leader = await cluster.leader();
        const stopped = members.map((m) => m.name).find((name) => name !== leader)!;
        await cluster.stopMember(stopped);
        try {
            const live = members.filter((m) => m.name !== stopped);
            const before = await Promise.all(live.map(async (m) => (await cluster.client(m.name).status()).dbSize));
            const run = await runDefrag();
            expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
            expect(run.stdout).toMatch(/SKIP: member http:\/\/127\.0\.0\.7\d:2379 is not healthy \(\/health answered 000\); defragmented: none/);
            expect(defragmented(run.stdout)).toEqual([]);
            expect(await Promise.all(live.map(async (m) => (await cluster.client(m.name).status()).dbSize))).toEqual(before);
        } finally {
            await cluster.restartMember(stopped);
            await cluster.waitHealthy(WAIT_MS);
        }
    });

    test("on a healthy cluster it shrinks every member, one at a time, the leader last, and the cluster stays healthy", async () => {
        const before = await sizes();
        const leaderName = await cluster.leader();
        const leaderUrl = `http://${members.find((m) => m.name === leaderName)!.ip}:2379`;
        const run = await runDefrag();
        const after = await sizes();
        expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });

        const order = defragmented(run.stdout);
        expect(order.map(([url]) => url).sort()).toEqual([...urls.values()].sort());
        expect(order[2]).toEqual([leaderUrl, "leader"]);
        expect(order.slice(0, 2).map(([, role]) => role)).toEqual(["follower", "follower"]);
        expect(run.stdout).toMatch(/done: defragmented( \S+){3}\n$/);

        for (let i = 0; i < members.length; i++) expect(after[i]).toBeLessThan(before[i] / 4);
        expect(run.health.length).toBeGreaterThan(10);
        expect(run.health.filter((h) => h.status !== 200)).toEqual([]);
        const slowest = Math.max(...run.health.map((h) => h.ms));
        // The figures for the report: sizes before and after, and the slowest /health answer during the run.
        console.log(JSON.stringify({ setupMs: phases, before, after, healthPolls: run.health.length, slowestHealthMs: slowest, log: run.stdout.trim().split("\n") }));
    });
});
