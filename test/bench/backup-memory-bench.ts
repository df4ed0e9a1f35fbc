/**
 * The memory part of `npm run bench` (`backupMemory`): the rendered prod backup steps run on a
 * database of more than 1 GiB, each under `/usr/bin/time` for its peak resident memory (what the
 * kernel charges a container for, file pages of the mapped database included), beside the limits
 * the CronJob declares. The source is one etcd member on 127.0.0.81 with the prod members' backend
 * quota, filled with values of 700 KB (a database that size from APISIX-sized values would take
 * far longer to write); its own peak, from /proc, is reported too.
 */
import * as fs from "fs";
import * as path from "path";
import { createBucket, gcsStep, grantedRole, installGcsStandIn } from "../backup/fake-gcs";
import { allSucceeded, podSteps, runSteps, type PodStep, type StepResult } from "../backup/pod-steps";
import { etcdBinaries } from "../etcd/binaries";
import { LocalCluster } from "../etcd/local-cluster";
import { USER_SECRET_KEY_REFS } from "../etcd/stack-secrets";
import { findManifest, renderedPlan } from "../rendered-plan";

/** Not used by the tests (.21-.53), the backup bench (.61-.73) nor the fault bench (.101-.103). */
const IP = "127.0.0.81";
const VALUE_BYTES = 700_000;
const VALUES = 1_600;
const TIME = "/usr/bin/time";
const WAIT_MS = 120_000;

/** `<binary> <args>` run as `/usr/bin/time -f <marker>%M <binary> <args>`: stderr ends with the peak RSS in KiB. */
const timed = (step: PodStep): PodStep => ({ ...step, binary: TIME, args: ["-f", "maxrss_kib=%M", step.binary, ...step.args] });
const peakBytes = (result: StepResult): number => 1024 * Number([...result.stderr.matchAll(/maxrss_kib=(\d+)/g)].pop()?.[1] ?? NaN);
const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 1000) / 1000;

async function fill(clientUrl: string): Promise<void> {
    let next = 0;
    const writer = async () => {
        while (next < VALUES) {
            const index = next++;
            const value = Buffer.alloc(VALUE_BYTES, `route-${index}-`);
            const response = await fetch(`${clientUrl}/v3/kv/put`, {
                method: "POST",
                body: JSON.stringify({ key: Buffer.from(`/apisix/plugin_metadata/large-${index}`).toString("base64"), value: value.toString("base64") }),
                signal: AbortSignal.timeout(60_000),
            });
            if (!response.ok) throw new Error(`put ${index}: HTTP ${response.status}: ${await response.text()}`);
        }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
}

export async function backupMemoryBench(work: string, clusters: LocalCluster[]): Promise<object> {
    if (!fs.existsSync(TIME)) throw new Error(`${TIME} is needed to measure peak memory (Debian package "time")`);
    const bins = await etcdBinaries();
    const { manifests, plan } = renderedPlan("prod");
    const member = findManifest(manifests, "StatefulSet", "apisix-etcd").spec.template.spec.containers[0];
    const quota = member.env.find((e: { name: string }) => e.name === "ETCD_QUOTA_BACKEND_BYTES").value as string;

    const dataDir = path.join(work, "member");
    const source = new LocalCluster({
        members: [
            {
                name: "m",
                ip: IP,
                args: [],
                dataDir,
                env: {
                    ETCD_NAME: "m",
                    ETCD_DATA_DIR: dataDir,
                    ETCD_LISTEN_CLIENT_URLS: `http://${IP}:2379`,
                    ETCD_ADVERTISE_CLIENT_URLS: `http://${IP}:2379`,
                    ETCD_LISTEN_PEER_URLS: `http://${IP}:2380`,
                    ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${IP}:2380`,
                    ETCD_INITIAL_CLUSTER: `m=http://${IP}:2380`,
                    ETCD_QUOTA_BACKEND_BYTES: quota,
                },
            },
        ],
        workDir: path.join(work, "logs"),
        etcdBinary: bins.etcd,
    });
    clusters.push(source);
    await source.start();
    await source.waitHealthy(WAIT_MS);
    const loading = process.hrtime.bigint();
    await fill(`http://${IP}:2379`);
    const loadSeconds = Math.round(Number(process.hrtime.bigint() - loading) / 1e7) / 100;
    const status = await source.client("m").status();

    const buckets = path.join(work, "gcs");
    const fakeBin = path.join(work, "bin");
    installGcsStandIn(fakeBin, buckets);
    const pod = findManifest(manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.spec.template.spec;
    createBucket(buckets, pod.containers[0].env.find((e: { name: string }) => e.name === "BUCKET").value);
    const serviceHost = new URL(pod.initContainers[0].env.find((e: { name: string }) => e.name === "ETCDCTL_ENDPOINTS").value).hostname;
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, path.join(work, "backup-pod", v.name)]));
    for (const dir of Object.values(volumes)) fs.mkdirSync(dir as string, { recursive: true });
    const role = grantedRole(plan.resources, manifests, pod.serviceAccountName);
    const steps = podSteps(pod, {
        volumes: volumes as Record<string, string>,
        replace: { [serviceHost]: IP },
        binaries: { etcdctl: bins.etcdctl, etcdutl: bins.etcdutl, bash: "/bin/bash" },
        secretKeyRefs: USER_SECRET_KEY_REFS,
    }).map((step) => (step.name === "upload" ? gcsStep(timed(step), { role }) : timed(step)));
    const results = runSteps(steps, { path: [fakeBin], timeoutMs: 600_000 });
    if (!allSucceeded(steps, results)) throw new Error(results.map((r) => `${r.name} exited ${r.status}: ${r.stderr.slice(-1500)}`).join("\n"));
    const memberPeak = 1024 * Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${source.startedPids()[0]}/status`, "utf8"))?.[1] ?? NaN);

    const containers = [...pod.initContainers, ...pod.containers];
    return {
        databaseBytes: status.dbSize,
        databaseGiB: gib(status.dbSize),
        quotaBytes: Number(quota),
        loadSeconds,
        steps: Object.fromEntries(
            results.map((result) => [
                result.name,
                {
                    seconds: Math.round(result.seconds * 100) / 100,
                    peakRssGiB: gib(peakBytes(result)),
                    limit: containers.find((c: { name: string }) => c.name === result.name).resources.limits.memory,
                },
            ]),
        ),
        memberPeakRssGiB: gib(memberPeak),
        memberLimit: member.resources.limits.memory,
    };
}
