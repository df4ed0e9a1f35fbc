/**
 * The backup part of `npm run bench`: how long the rendered backup and restore take for a database
 * of about 100 MB, on this machine, in the pod sandbox as test/backup runs them (test/backup/
 * backup-sandbox.ts): the CronJob's pod through the client Service, the GCS stand-in at its real
 * names, then the stack with `restore.from` set to that backup as a fresh StatefulSet.
 *
 * A step's time runs from its container's start to the next one's (the backup's last: to the pod's
 * end), so it includes the sandbox's set-up of each container (its root and mounts, tens of ms).
 * The members restore in parallel, each in its own pod, as on GKE.
 */
import { renderedPlan } from "../rendered-plan";
import { apisixEntries, putAll } from "../backup/apisix-data";
import { BackupSandbox } from "../backup/backup-sandbox";
import { listObjects } from "../backup/fake-gcs";
import { prefixRangeEnd } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";
import { MemberPods } from "../pod-sandbox/member-pods";
import type { PodSandbox } from "../pod-sandbox/pod-sandbox";
import type { SandboxPod } from "../pod-sandbox/sandbox-pod";
import * as fs from "fs";
import * as path from "path";

/** ~8.6 KB per route: 10 000 routes make a database of about 100 MB. */
const SHAPE = { routes: 10_000, upstreams: 500, services: 200, routePadding: 8_000 };
const WAIT_MS = 120_000;
const RESTORE_STEPS = ["restore-fetch", "restore", "restore-install"];

const seconds = (ms: number) => Math.round(ms / 10) / 100;

/** How many keys start with `prefix` (a count-only range: the values stay on the server). */
async function countPrefix(sandbox: PodSandbox, clientUrl: string, prefix: string): Promise<number> {
    const response = await sandbox.http(`${clientUrl}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: Buffer.from(prefix).toString("base64"), range_end: prefixRangeEnd(prefix).toString("base64"), count_only: true }),
        timeoutMs: 60_000,
    });
    return Number((JSON.parse(response.body) as { count?: string }).count ?? 0);
}

/** When each of `containers` of `pod` first exited (ms since the epoch, seen every 20 ms); throws at once when one failed. */
async function exitTimes(pod: SandboxPod, containers: readonly string[]): Promise<number[]> {
    const times: number[] = [];
    const outcome = await waitFor(
        `${containers.join(", ")} of ${pod.name} to exit`,
        async () => {
            const statuses = pod.containerStatuses();
            for (const [index, name] of containers.entries()) {
                const exit = statuses.find((s) => s.name === name)!.exits[0];
                if (exit === undefined) return undefined;
                if (exit.code !== 0) return { failed: `${name} of ${pod.name} exited ${exit.code}: ${pod.logs(name).slice(-1500)}` };
                times[index] ??= Date.now();
            }
            return { failed: undefined };
        },
        { timeoutMs: WAIT_MS, intervalMs: 20 },
    );
    if (outcome.failed) throw new Error(outcome.failed);
    return times;
}

export async function backupBench(): Promise<object> {
    const { manifests, plan } = renderedPlan("prod");
    const scene = await BackupSandbox.create({ manifests, resources: plan.resources });
    try {
        const source = await scene.deploySource(WAIT_MS);
        const entries = apisixEntries(SHAPE);
        const loading = Date.now();
        await putAll(source.clientUrl(0), entries, (url, body) => scene.sandbox.http(url, { method: "POST", body, timeoutMs: 60_000 }));
        const loadSeconds = seconds(Date.now() - loading);
        const status = await source.client(0).status();

        // The backup, as the rendered CronJob declares it (every member up, as a scheduled run mostly finds them).
        const starts = new Map<string, number>();
        const backupStarted = Date.now();
        const backup = await scene.backupPod(WAIT_MS * 5, (container) => void starts.set(container, Date.now()));
        const backupEnded = Date.now();
        if (backup.phase !== "Succeeded") throw new Error(`the backup pod ${backup.phase}: ${["snapshot", "verify", "upload"].map((c) => `${c}: ${backup.logs(c).slice(-1500)}`).join("\n")}`);
        const [object] = listObjects(scene.buckets);
        const snapshotBytes = fs.statSync(path.join(backup.volumeDir("backup"), "snapshot.db")).size;
        const order = ["snapshot", "verify", "upload"];
        const backupSteps = Object.fromEntries(order.map((name, i) => [name, seconds((starts.get(order[i + 1]) ?? backupEnded) - starts.get(name)!)]));

        // The restore, as the stack declares it with `restore.from` set to that backup.
        const restore = await BackupSandbox.declareRestore(object);
        const pods = await scene.applyRestore(restore);
        const started = Date.now();
        const restoredPods = await pods.startAll();
        const ends = await Promise.all(restoredPods.map((pod) => exitTimes(pod, RESTORE_STEPS)));
        const perMember = ends.map((times) => Object.fromEntries(RESTORE_STEPS.map((name, i) => [name, seconds(times[i] - (i === 0 ? started : times[i - 1]))])));
        const restoredAt = Math.max(...ends.map((times) => times[RESTORE_STEPS.length - 1]));
        const restored = new MemberPods(scene.sandbox, pods);
        await restored.waitHealthy(WAIT_MS);
        const healthyAt = Date.now();
        const restoredKeys = await countPrefix(scene.sandbox, restored.clientUrl(0), "/apisix/");
        if (restoredKeys !== entries.size) throw new Error(`the restored cluster holds ${restoredKeys} keys, expected ${entries.size}`);

        return {
            etcd: status.version,
            keys: entries.size,
            databaseBytes: status.dbSize,
            loadSeconds,
            snapshotBytes,
            backup: { seconds: seconds(backupEnded - backupStarted), steps: backupSteps },
            restore: {
                // From the pods' start, each member's download (token wait included), etcdutl and install.
                stepsSecondsPerMember: perMember,
                podsStartToRestoredSeconds: seconds(restoredAt - started),
                // Restored members start on existing data dirs: each runs etcd's initial corruption check,
                // which waits on peers still doing theirs, before it serves.
                restoredToHealthySeconds: seconds(healthyAt - restoredAt),
                keysRestored: restoredKeys,
            },
        };
    } finally {
        await scene.close();
    }
}
