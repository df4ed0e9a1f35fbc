/**
 * The memory part of `npm run bench` (`backupMemory`): the rendered prod backup pod run in the pod
 * sandbox on a database of more than 1 GiB, each container's peak resident memory (peak-memory.ts:
 * what the kernel charges a container for, file pages of the mapped database included) beside the
 * limits the CronJob declares. The source is the prod stack declared with one replica (the same
 * pod, quota and limits; a 1 GiB database replicated three times would take far longer to write),
 * filled with values of 700 KB (a database that size from APISIX-sized values would take longer
 * still); the member's own peak is reported too.
 */
import { readFileSync } from "node:fs";
import { findManifest } from "../rendered-plan";
import { declareStacks } from "../stack-under-mocks";
import { BackupSandbox } from "../backup/backup-sandbox";
import type { PodSandbox } from "../pod-sandbox/pod-sandbox";
import { PeakMemory } from "./peak-memory";

const VALUE_BYTES = 700_000;
const VALUES = 1_600;
const WAIT_MS = 120_000;

const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 1000) / 1000;

/** Attempts per put: a connection through the sandbox's agent was seen closed mid-request (EPIPE) under this load. */
const PUT_ATTEMPTS = 3;

/** Writes the values with 4 writers; returns how many puts had to be sent again (the same key and value: idempotent). */
async function fill(sandbox: PodSandbox, clientUrl: string): Promise<number> {
    let next = 0;
    let retries = 0;
    const put = async (index: number, body: string, attempt = 1): Promise<void> => {
        let response: { status: number; body: string };
        try {
            response = await sandbox.http(`${clientUrl}/v3/kv/put`, { method: "POST", body, timeoutMs: 60_000 });
        } catch (error) {
            if (attempt >= PUT_ATTEMPTS) throw new Error(`put ${index} of ${VALUES}, attempt ${attempt}: ${(error as Error).message}`, { cause: error });
            retries++;
            return put(index, body, attempt + 1);
        }
        if (response.status !== 200) throw new Error(`put ${index}: HTTP ${response.status}: ${response.body.slice(0, 500)}`);
    };
    const writer = async () => {
        while (next < VALUES) {
            const index = next++;
            const value = Buffer.alloc(VALUE_BYTES, `route-${index}-`);
            await put(index, JSON.stringify({ key: Buffer.from(`/apisix/plugin_metadata/large-${index}`).toString("base64"), value: value.toString("base64") }));
        }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
    return retries;
}

export async function backupMemoryBench(): Promise<object> {
    const [stack] = await declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:replicas": 1 } }]);
    if (stack.error) throw new Error(`the prod stack with one replica failed: ${stack.error}`);
    const member = findManifest(stack.manifests, "StatefulSet", "apisix-etcd").spec.template.spec.containers.find((c: { name: string }) => c.name === "etcd");
    const declared = findManifest(stack.manifests, "ConfigMap", "apisix-etcd-config").data["etcd.yaml"] as string;
    const quota = Number(/^quota-backend-bytes: (\d+)$/m.exec(declared)?.[1]);
    if (!(quota > 0)) throw new Error("the members' configuration declares no quota-backend-bytes");

    const scene = await BackupSandbox.create(stack);
    try {
        const source = await scene.deploySource(WAIT_MS);
        const loading = Date.now();
        const loadRetries = await fill(scene.sandbox, source.clientUrl(0));
        const loadSeconds = Math.round((Date.now() - loading) / 10) / 100;
        const status = await source.client(0).status();

        let sampler: PeakMemory | undefined;
        const starts = new Map<string, number>();
        const pod = await scene.backupPod(WAIT_MS * 5, (container, p) => {
            sampler ??= new PeakMemory(p);
            starts.set(container, Date.now());
        });
        const ended = Date.now();
        const peaks = sampler!.stop();
        if (pod.phase !== "Succeeded") throw new Error(`the backup pod ${pod.phase}: ${["snapshot", "verify", "upload"].map((c) => `${c}: ${pod.logs(c).slice(-1500)}`).join("\n")}`);
        const etcdPid = source.statefulSet.pod(0).containerStatuses().find((c) => c.name === "etcd")!.pid!;
        const memberPeak = 1024 * Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${etcdPid}/status`, "utf8"))?.[1] ?? NaN);

        const spec = scene.cronJob.spec.jobTemplate.spec.template.spec;
        const containers: { name: string; resources: { limits: { memory: string } } }[] = [...spec.initContainers, ...spec.containers];
        return {
            databaseBytes: status.dbSize,
            databaseGiB: gib(status.dbSize),
            quotaBytes: quota,
            loadSeconds,
            loadRetries,
            steps: Object.fromEntries(
                containers.map(({ name, resources }, i) => [
                    name,
                    {
                        seconds: Math.round(((starts.get(containers[i + 1]?.name) ?? ended) - starts.get(name)!) / 10) / 100,
                        peakRssGiB: gib(peaks.get(name) ?? NaN),
                        limit: resources.limits.memory,
                    },
                ]),
            ),
            memberPeakRssGiB: gib(memberPeak),
            memberLimit: member.resources.limits.memory,
        };
    } finally {
        await scene.close();
    }
}
