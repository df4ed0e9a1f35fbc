/**
 * The backup part of `npm run bench`: how long the rendered backup and restore steps take for a
 * database of about 100 MB, on this machine, with the same stand-ins as test/backup (real etcd 3.5 on
 * loopback, the rendered commands, a folder standing for the bucket).
 *
 * The members of one pod restore in parallel on GKE (each in its own pod); here they run one after
 * the other, so `restore.stepsSecondsPerMember` is what one pod waits, `restore.stepsSecondsTotal`
 * the sum.
 */
import * as fs from "fs";
import * as path from "path";
import { findManifest, renderedPlan } from "../rendered-plan";
import { declareStacks } from "../stack-under-mocks";
import { apisixEntries, putAll } from "../backup/apisix-data";
import { createBucket, gcsStep, grantedRole, installGcsStandIn, listObjects } from "../backup/fake-gcs";
import { memberRestoreSteps } from "../backup/member-restore-steps";
import { allSucceeded, podSteps, runSteps, StepResult } from "../backup/pod-steps";
import { etcdBinaries } from "../etcd/binaries";
import { prefixRangeEnd } from "../etcd/etcd-client";
import { LocalCluster } from "../etcd/local-cluster";
import { manifestConfigMaps, membersFromStatefulSet } from "../etcd/rendered-members";
import { makeMemberSecrets, USER_SECRET_KEY_REFS } from "../etcd/stack-secrets";

/** Not used by the tests (.21-.53), so that a bench and a test run can share the machine. */
const SOURCE_IPS = ["127.0.0.61", "127.0.0.62", "127.0.0.63"];
const RESTORED_IPS = ["127.0.0.71", "127.0.0.72", "127.0.0.73"];
/** ~8.6 KB per route: 10 000 routes make a database of about 100 MB. */
const SHAPE = { routes: 10_000, upstreams: 500, services: 200, routePadding: 8_000 };
const WAIT_MS = 120_000;

const seconds = (since: bigint) => Math.round(Number(process.hrtime.bigint() - since) / 1e7) / 100;
const stepSeconds = (results: StepResult[]) => Object.fromEntries(results.map((r) => [r.name, Math.round(r.seconds * 100) / 100]));

/** How many keys start with `prefix` (a count-only range: the values stay on the server). */
async function countPrefix(clientUrl: string, prefix: string): Promise<number> {
    const response = await fetch(`${clientUrl}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: Buffer.from(prefix).toString("base64"), range_end: prefixRangeEnd(prefix).toString("base64"), count_only: true }),
        signal: AbortSignal.timeout(60_000),
    });
    return Number(((await response.json()) as { count?: string }).count ?? 0);
}

function check(what: string, steps: { length: number }, results: StepResult[]): void {
    if (!allSucceeded(steps as never, results)) {
        throw new Error(`${what} failed: ${results.map((r) => `${r.name} exited ${r.status}: ${r.stderr.slice(-1000)}`).join("\n")}`);
    }
}

export async function backupBench(work: string, clusters: LocalCluster[]): Promise<object> {
    const bins = await etcdBinaries();
    const fakeBin = path.join(work, "bin");
    const buckets = path.join(work, "gcs");
    installGcsStandIn(fakeBin, buckets);
    const { manifests, plan } = renderedPlan("prod");
    const { secrets } = makeMemberSecrets(path.join(work, "secrets"), { manifests, resources: plan.resources }, [...SOURCE_IPS, ...RESTORED_IPS]);

    const sourceMembers = membersFromStatefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"), { ips: SOURCE_IPS, dataRoot: path.join(work, "source"), binDir: bins.binDir, secrets, configMaps: manifestConfigMaps(manifests) });
    const source = new LocalCluster({ members: sourceMembers, workDir: path.join(work, "source-logs"), etcdBinary: sourceMembers[0].binary });
    clusters.push(source);
    await source.start();
    await source.waitHealthy(WAIT_MS);
    const entries = apisixEntries(SHAPE);
    const loading = process.hrtime.bigint();
    await putAll(`http://${SOURCE_IPS[0]}:2379`, entries);
    const loadSeconds = seconds(loading);
    const status = await source.client(sourceMembers[0].name).status();

    // The backup, as the rendered CronJob declares it.
    const cronPod = findManifest(manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.spec.template.spec;
    const serviceHost = new URL(cronPod.initContainers[0].env.find((e: { name: string }) => e.name === "ETCDCTL_ENDPOINTS").value).hostname;
    const volumes = Object.fromEntries(cronPod.volumes.map((v: { name: string }) => [v.name, path.join(work, "backup-pod", v.name)]));
    for (const dir of Object.values(volumes)) fs.mkdirSync(dir as string, { recursive: true });
    createBucket(buckets, cronPod.containers[0].env.find((e: { name: string }) => e.name === "BUCKET").value);
    const uploaderRole = grantedRole(plan.resources, manifests, cronPod.serviceAccountName);
    const backupSteps = podSteps(cronPod, {
        volumes: volumes as Record<string, string>,
        replace: { [serviceHost]: SOURCE_IPS[1] },
        binaries: { etcdctl: bins.etcdctl, etcdutl: bins.etcdutl, bash: "/bin/bash" },
        secretKeyRefs: USER_SECRET_KEY_REFS,
    }).map((step) => (step.name === "upload" ? gcsStep(step, { role: uploaderRole }) : step));
    const backupStarted = process.hrtime.bigint();
    const backup = runSteps(backupSteps, { path: [fakeBin] });
    const backupSeconds = seconds(backupStarted);
    check("the backup", backupSteps, backup);
    const [object] = listObjects(buckets);
    const snapshotBytes = fs.statSync(path.join(volumes.backup as string, "snapshot.db")).size;

    // The restore, as the stack declares it with `restore.from` set to that backup.
    const [restoreStack] = await declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:restore": { from: object } } }]);
    if (restoreStack.error) throw new Error(restoreStack.error);
    const statefulSet = restoreStack.manifests.find((m) => m.kind === "StatefulSet")!;
    const dataRoot = path.join(work, "restored");
    const perMember: Record<string, number>[] = [];
    const restoreStarted = process.hrtime.bigint();
    for (const steps of memberRestoreSteps(statefulSet, { ips: RESTORED_IPS, dataRoot, scratchRoot: `${dataRoot}-scratch`, binaries: { etcdutl: bins.etcdutl, bash: "/bin/bash" } })) {
        const results = runSteps(steps, { path: [fakeBin] });
        check("a member's restore", steps, results);
        perMember.push(stepSeconds(results));
    }
    const restoreStepsSeconds = seconds(restoreStarted);
    const restoredMembers = membersFromStatefulSet(statefulSet, { ips: RESTORED_IPS, dataRoot, binDir: bins.binDir, secrets, configMaps: manifestConfigMaps(restoreStack.manifests) });
    const restored = new LocalCluster({ members: restoredMembers, workDir: path.join(work, "restored-logs"), etcdBinary: restoredMembers[0].binary });
    clusters.push(restored);
    const starting = process.hrtime.bigint();
    await restored.start();
    await restored.waitHealthy(WAIT_MS);
    const untilHealthySeconds = seconds(starting);
    const restoredKeys = await countPrefix(`http://${RESTORED_IPS[0]}:2379`, "/apisix/");
    if (restoredKeys !== entries.size) throw new Error(`the restored cluster holds ${restoredKeys} keys, expected ${entries.size}`);

    return {
        etcd: status.version,
        keys: entries.size,
        databaseBytes: status.dbSize,
        loadSeconds,
        snapshotBytes,
        backup: { seconds: backupSeconds, steps: stepSeconds(backup) },
        restore: {
            stepsSecondsTotal: restoreStepsSeconds,
            stepsSecondsPerMember: perMember,
            // Restored members start on existing data dirs: each runs etcd's initial corruption check,
            // which waits on peers still doing theirs, before it serves.
            startToHealthySeconds: untilHealthySeconds,
            keysRestored: restoredKeys,
        },
    };
}
