/**
 * The backup and the restore of the rendered stack in one pod sandbox (test/pod-sandbox), as a
 * cluster runs them, for test/backup and the backup part of `npm run bench`: the source members
 * (the rendered StatefulSet, deployed as a first `pulumi up` would), the backup CronJob's pods
 * exactly as rendered, the GCS stand-in at GCS's and the metadata server's names (sandbox-gcs.ts),
 * and the stack declared with `restore.from` run as a fresh StatefulSet on empty claims, after the
 * source's members were stopped and their claims deleted (docs/restore.md, steps 2 and 3).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findManifest, type RenderedManifest } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";
import type { BeforeContainer, SandboxPod } from "../pod-sandbox/sandbox-pod";
import { createBucket, grantedRole } from "./fake-gcs";
import type { GcsStandIn } from "./gcs-stand-in";
import { serveGcs } from "./sandbox-gcs";

/** A stack as the plan or declareStacks gives it. */
interface Stack {
    readonly manifests: readonly RenderedManifest[];
    readonly resources: readonly { type: string; name: string; urn: string; inputs: Record<string, any>; options: { dependsOn?: readonly string[] } }[];
}

/** The value of the variable `name` of a rendered container. */
export function envValue(container: { env?: { name: string; value?: string }[] }, name: string): string {
    const value = container.env?.find((e) => e.name === name)?.value;
    if (value === undefined) throw new Error(`the container has no variable ${name} with a value`);
    return value;
}

/** The restore stack: the StatefulSet it declares, and the role it grants the members' Google identity on the bucket. */
export interface RestoreStack {
    readonly stack: DeclaredStack;
    readonly statefulSet: RenderedManifest;
    readonly readerRole: string;
}

export class BackupSandbox {
    /** The role the stack grants the backup pods' Google identity on the bucket. */
    readonly uploaderRole: string;
    readonly bucket: string;
    private source: MemberPods | undefined;

    private constructor(
        readonly sandbox: PodSandbox,
        readonly gcs: GcsStandIn,
        /** The buckets' folder: `gs://<bucket>/<object>` is `<buckets>/<bucket>/<object>`. */
        readonly buckets: string,
        readonly cronJob: RenderedManifest,
        private readonly plan: Stack,
        private readonly stopGcs: () => void,
        private readonly work: string,
    ) {
        const pod = cronJob.spec.jobTemplate.spec.template.spec;
        this.uploaderRole = grantedRole(plan.resources, plan.manifests, pod.serviceAccountName);
        this.bucket = envValue(pod.containers.find((c: { name: string }) => c.name === "upload"), "BUCKET");
        createBucket(buckets, this.bucket);
    }

    /** The sandbox for the stack `plan` (its pods trusting the sandbox's CA, as GKE's pods trust Google's), the GCS stand-in served, the bucket made. */
    static async create(plan: Stack): Promise<BackupSandbox> {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "backup-sandbox-"));
        let sandbox: PodSandbox | undefined;
        try {
            sandbox = await PodSandbox.create({ manifests: plan.manifests, secrets: stackSecrets(plan).secrets, trustSandboxCa: true });
            const buckets = path.join(work, "gcs");
            const { gcs, close } = await serveGcs(sandbox, buckets);
            return new BackupSandbox(sandbox, gcs, buckets, findManifest(plan.manifests, "CronJob", "apisix-etcd-backup"), plan, close, work);
        } catch (error) {
            await sandbox?.close();
            fs.rmSync(work, { recursive: true, force: true });
            throw error;
        }
    }

    /** The source cluster: the rendered StatefulSet deployed as a first `pulumi up` does, every member Ready (the client Service routes to it). */
    async deploySource(timeoutMs: number): Promise<MemberPods> {
        const members = new MemberPods(this.sandbox, this.sandbox.statefulSet(findManifest(this.plan.manifests, "StatefulSet", "apisix-etcd")));
        this.source = members;
        await members.firstDeploy(this.plan, timeoutMs);
        await members.statefulSet.waitReady(timeoutMs);
        return members;
    }

    /** One pod of the backup CronJob's Job, run to its end with the uploader's Google identity. */
    async backupPod(timeoutMs: number, beforeContainer?: BeforeContainer): Promise<SandboxPod> {
        this.gcs.speakFor(this.uploaderRole);
        const pod = await this.sandbox.startJobPod(this.cronJob, 0, beforeContainer);
        await pod.waitCompleted(timeoutMs);
        return pod;
    }

    /** The stack declared with `restore.from` set to `url` (a process of its own: start it early, await it late). */
    static async declareRestore(url: string): Promise<RestoreStack> {
        const [stack] = await declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:restore": { from: url } } }]);
        if (stack.error) throw new Error(`the stack with restore.from ${url} failed: ${stack.error}`);
        const statefulSet = findManifest(stack.manifests, "StatefulSet", "apisix-etcd");
        return { stack, statefulSet, readerRole: grantedRole(stack.resources, stack.manifests, statefulSet.spec.template.spec.serviceAccountName) };
    }

    /** docs/restore.md's step 2: the source's members stopped (scaled to 0) and their claims deleted. */
    async removeSource(): Promise<void> {
        if (!this.source) return;
        const pods = this.source.statefulSet;
        await pods.stopAll();
        for (const ordinal of this.source.ordinals) pods.deleteClaim(ordinal);
        this.source = undefined;
    }

    /**
     * docs/restore.md's steps 2 and 3: the source removed (if still there), then the restore stack
     * applied: its ConfigMaps, and its StatefulSet, whose pods are started by the caller; the
     * metadata server speaks for the members' Google identity from now on.
     */
    async applyRestore(restore: RestoreStack): Promise<StatefulSetPods> {
        await this.removeSource();
        for (const configMap of restore.stack.manifests.filter((m) => m.kind === "ConfigMap")) {
            if (configMap.binaryData) throw new Error(`ConfigMap ${configMap.metadata.name} has binaryData, which applyRestore does not carry`);
            this.sandbox.configMaps.set(configMap.metadata.name!, configMap.data ?? {});
        }
        this.gcs.speakFor(restore.readerRole);
        return this.sandbox.statefulSet(restore.statefulSet);
    }

    /** Stops every pod and the stand-in, removes the sandbox and the bucket. */
    async close(): Promise<void> {
        try {
            await this.sandbox.close();
        } finally {
            this.stopGcs();
            fs.rmSync(this.work, { recursive: true, force: true });
        }
    }
}
