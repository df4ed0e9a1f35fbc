// The defragmentation CronJob of the rendered prod stack, run for real in the pod sandbox
// (test/pod-sandbox) against the rendered StatefulSet's 3 members: its Job pod exactly as rendered,
// as UID 65532 on a read-only root, reaching the members by their pod DNS names (MEMBERS), its
// kubectl answered by the sandbox's Kubernetes API stand-in as its ServiceAccount under the RBAC the
// stack grants it (the backup Jobs marked active or idle by the test). Authentication is not
// enabled here: the script then goes on anonymously, as it does before the auth bootstrap's first run.
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { KubernetesApiStandIn } from "../pod-sandbox/kubernetes-api-stand-in";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";

jest.setTimeout(60_000);

const WAIT_MS = 20_000;
/** Written, deleted and compacted away: free pages only a defragmentation returns (8 MiB). */
const KEYS = 8192;
const VALUE = "x".repeat(1024);
/** etcd's default --max-txn-ops. */
const TXN_OPS = 128;

interface Run {
    succeeded: boolean;
    log: string;
    /** Every /health answer of every polled member while the run went on. */
    health: { url: string; status: number; ms: number }[];
}

describe("the rendered defragmentation CronJob in the pod sandbox", () => {
    let sandbox: PodSandbox;
    let api: KubernetesApiStandIn;
    let pods: StatefulSetPods;
    let members: MemberPods;
    let cronJob: RenderedManifest;
    let backupLabels: Record<string, string>;
    /** Milliseconds the set-up took, by phase (reported with the figures). */
    const phases: Record<string, number> = {};

    const b64 = (text: string) => Buffer.from(text).toString("base64");

    /** Runs the CronJob's Job as the Job controller would, polling the /health of the members `polled` meanwhile. */
    async function runDefrag(polled: readonly number[] = members.ordinals): Promise<Run> {
        let running = true;
        const health: Run["health"] = [];
        const poll = (async () => {
            while (running) {
                await Promise.all(
                    polled.map(async (ordinal) => {
                        const url = members.clientUrl(ordinal);
                        const started = Date.now();
                        const status = await sandbox.http(`${url}/health`, { timeoutMs: 10_000 }).then((r) => r.status, () => 0);
                        health.push({ url, status, ms: Date.now() - started });
                    }),
                );
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        try {
            const run = await sandbox.runJob(cronJob, 45_000);
            const log = run.pods[run.pods.length - 1].logs("defrag");
            // Nothing but the script's own timestamped lines: no error of curl or kubectl on the way.
            expect(log.split("\n").filter((line) => line !== "" && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /.test(line))).toEqual([]);
            return { succeeded: run.succeeded, log, health };
        } finally {
            running = false;
            await poll;
        }
    }

    const sizes = async (ordinals: readonly number[] = members.ordinals) => Promise.all(ordinals.map(async (o) => (await members.client(o).status()).dbSize));
    const defragmented = (log: string) => [...log.matchAll(/defragmenting (\S+) \((follower|leader)\)/g)].map((m) => [m[1], m[2]]);

    beforeAll(async () => {
        let t = Date.now();
        const lap = (phase: string) => {
            phases[phase] = Date.now() - t;
            t = Date.now();
        };
        const { manifests, plan } = renderedPlan("prod");
        cronJob = findManifest(manifests, "CronJob", "apisix-etcd-defrag");
        backupLabels = findManifest(manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.metadata.labels;
        sandbox = await PodSandbox.create({ manifests, secrets: stackSecrets({ manifests, resources: plan.resources }).secrets });
        api = await KubernetesApiStandIn.attach(sandbox, manifests);
        lap("sandbox");
        pods = sandbox.statefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"));
        members = new MemberPods(sandbox, pods);
        await members.firstDeploy(plan, WAIT_MS);
        lap("members");

        const batches = Array.from({ length: KEYS / TXN_OPS }, (_, b) =>
            Array.from({ length: TXN_OPS }, (_, i) => ({ request_put: { key: b64(`/defrag/${String(b * TXN_OPS + i).padStart(6, "0")}`), value: b64(VALUE) } })),
        );
        const txn = (success: object[]) => sandbox.http(`${members.clientUrl(0)}/v3/kv/txn`, { method: "POST", body: JSON.stringify({ success }), timeoutMs: 10_000 });
        for (let b = 0; b < batches.length; b += 4) {
            for (const answer of await Promise.all(batches.slice(b, b + 4).map(txn))) expect(answer.status).toBe(200);
        }
        const client = members.client(0);
        expect(await client.deletePrefix("/defrag/")).toBe(KEYS);
        await client.compact(await client.put("/marker", "after-deletes"), true);
        lap("load");
    });

    afterAll(async () => {
        await api?.close();
        await sandbox?.close();
    });

    test("the rendered Job lists the backup Jobs through kubectl as its own ServiceAccount: with one active it skips, exits 0 and defragments nothing", async () => {
        api.markJob({ namespace: "etcd", name: "apisix-etcd-backup-29411017", labels: backupLabels, active: 1 });
        try {
            const before = await sizes();
            const requests = api.requests.length;
            const run = await runDefrag();
            expect(run).toMatchObject({ succeeded: true, log: expect.stringMatching(/SKIP: a backup Job is active \(app\.kubernetes\.io\/instance=apisix-etcd,\S*app\.kubernetes\.io\/component=backup\S*\); defragmented: none\n$/) });
            expect(defragmented(run.log)).toEqual([]);
            expect(await sizes()).toEqual(before);
            expect(api.requests.slice(requests).map((r) => [r.user, r.method, decodeURIComponent(r.path), r.status])).toEqual([
                ["system:serviceaccount:etcd:apisix-etcd-defrag", "GET", `/apis/batch/v1/namespaces/etcd/jobs?labelSelector=${cronJob.spec.jobTemplate.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "BACKUP_SELECTOR").value}`, 200],
            ]);
        } finally {
            api.unmarkJob("etcd", "apisix-etcd-backup-29411017");
        }
    });

    // Issue 11: a Job reaching etcd while one member is down. The script checks the whole cluster
    // before each member and, with a member unhealthy, skips the run (exit 0) naming it, defragmenting
    // none: the others are not defragmented either (components/defrag/defrag-script.ts).
    test("with one member down the run skips naming that member by its pod DNS name, exits 0 and defragments none of the others", async () => {
        const leader = await members.waitLeader(WAIT_MS);
        const down = members.ordinals.find((o) => o !== leader)!;
        const live = members.ordinals.filter((o) => o !== down);
        await pods.deletePod(down, 5);
        try {
            const before = await sizes(live);
            const run = await runDefrag(live);
            expect(run).toMatchObject({ succeeded: true, log: expect.stringContaining(`SKIP: member ${members.clientUrl(down)} is not healthy (/health answered 000); defragmented: none\n`) });
            expect(defragmented(run.log)).toEqual([]);
            expect(await sizes(live)).toEqual(before);
            expect(run.health.filter((h) => h.status !== 200)).toEqual([]);
        } finally {
            await pods.startPod(down);
        }
        await members.waitHealthy(WAIT_MS);
    });

    test("on a healthy cluster it shrinks every member, one at a time, the leader last, and the cluster stays healthy", async () => {
        const before = await sizes();
        const leader = await members.waitLeader(WAIT_MS);
        const run = await runDefrag();
        const after = await sizes();
        expect(run.succeeded).toBe(true);
        // First the whole log, so that a run that skipped shows why.
        expect(run.log).toMatch(/done: defragmented( \S+){3}\n$/);

        const order = defragmented(run.log);
        expect(order.map(([url]) => url).sort()).toEqual(members.ordinals.map((o) => members.clientUrl(o)));
        expect(order[2]).toEqual([members.clientUrl(leader), "leader"]);
        expect(order.slice(0, 2).map(([, role]) => role)).toEqual(["follower", "follower"]);

        for (let i = 0; i < members.ordinals.length; i++) expect(after[i]).toBeLessThan(before[i] / 4);
        expect(run.health.length).toBeGreaterThan(10);
        expect(run.health.filter((h) => h.status !== 200)).toEqual([]);
        const slowest = Math.max(...run.health.map((h) => h.ms));
        // The figures for the report: sizes before and after, and the slowest /health answer during the run.
        console.log(JSON.stringify({ setupMs: phases, before, after, healthPolls: run.health.length, slowestHealthMs: slowest, log: run.log.trim().split("\n") }));
    });
});
