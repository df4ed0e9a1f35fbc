// The sandbox's Kubernetes API stand-in and its kubectl, on small hand-written pods (this tests the
// harness) under the RBAC and ServiceAccounts the prod stack renders: the defragmentation's one call
// answered in kubectl's format from the Jobs the test marks and the sandbox's own Job pods, as the
// pod's ServiceAccount; what the stack does not grant refused as the API server refuses it; a pod
// without a token, and any other call, fail loudly.
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { waitFor } from "../etcd/wait";
import { KubernetesApiStandIn } from "./kubernetes-api-stand-in";
import { PodSandbox } from "./pod-sandbox";
import type { PodSpec } from "./pod-manifest";

jest.setTimeout(60_000);

const WAIT_MS = 15_000;
const NAMESPACE = "etcd";
const NON_ROOT = { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, runAsNonRoot: true };
const JSONPATH = "jsonpath={.items[*].status.active}";

describe("the Kubernetes API stand-in and the tools image's kubectl", () => {
    let sandbox: PodSandbox;
    let api: KubernetesApiStandIn;
    let tools: string;
    let selector: string;

    /** A Job of one container running `script` in the tools image as `serviceAccount`. */
    const job = (name: string, script: string, spec: Partial<PodSpec> = {}, labels: Record<string, string> = { test: name }): RenderedManifest => ({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: NAMESPACE, labels },
        spec: {
            backoffLimit: 0,
            template: {
                metadata: { labels },
                spec: { restartPolicy: "Never", securityContext: NON_ROOT, containers: [{ name: "main", image: tools, command: ["/bin/sh", "-c", script] }], ...spec },
            },
        },
    });
    const extraJobs: RenderedManifest[] = [];

    /** Runs `kubectl args` in a pod of `serviceAccount`; its exit code and output. */
    async function kubectl(name: string, args: string, spec: Partial<PodSpec> = { serviceAccountName: "apisix-etcd-defrag" }): Promise<{ code: string; out: string }> {
        const pod = await sandbox.startJobPod(job(name, `kubectl ${args}; echo "[exit $?]"`, spec));
        await pod.waitCompleted(WAIT_MS);
        if (pod.failure) throw pod.failure;
        const log = pod.logs("main");
        const exit = /\[exit (\d+)\]\n$/.exec(log);
        if (!exit) throw new Error(`no exit line in ${JSON.stringify(log)}`);
        return { code: exit[1], out: log.slice(0, exit.index) };
    }
    const listBackups = (name: string, spec?: Partial<PodSpec>) => kubectl(name, `--namespace ${NAMESPACE} get jobs --selector '${selector}' --output '${JSONPATH}'`, spec);

    beforeAll(async () => {
        const { manifests } = renderedPlan("prod");
        const defrag = findManifest(manifests, "CronJob", "apisix-etcd-defrag").spec.jobTemplate.spec.template.spec;
        tools = defrag.containers[0].image;
        selector = defrag.containers[0].env.find((e: { name: string }) => e.name === "BACKUP_SELECTOR").value;
        const backupLabels = findManifest(manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.metadata.labels;
        extraJobs.push(job("backup-like", "sleep 30", {}, backupLabels));
        sandbox = await PodSandbox.create({ manifests, secrets: {} });
        api = await KubernetesApiStandIn.attach(sandbox, [...manifests, ...extraJobs]);
    });

    afterAll(async () => {
        await api?.close();
        await sandbox?.close();
    });

    test("the defragmentation's ServiceAccount lists the backup Jobs: none, one, several active, in kubectl's JSONPath format", async () => {
        expect(await listBackups("list-none")).toEqual({ code: "0", out: "" });
        const labels = findManifest(renderedPlan("prod").manifests, "CronJob", "apisix-etcd-backup").spec.jobTemplate.metadata.labels;
        api.markJob({ namespace: NAMESPACE, name: "apisix-etcd-backup-29000001", labels, active: 1 });
        expect(await listBackups("list-one")).toEqual({ code: "0", out: "1" });
        // A finished Job has no status.active: kubectl prints nothing for it; the others space-separated.
        api.markJob({ namespace: NAMESPACE, name: "apisix-etcd-backup-29000002", labels, active: 0 });
        api.markJob({ namespace: NAMESPACE, name: "apisix-etcd-backup-29000003", labels, active: 2 });
        api.markJob({ namespace: NAMESPACE, name: "other", labels: { ...labels, "app.kubernetes.io/component": "defrag" }, active: 1 });
        expect(await listBackups("list-several")).toEqual({ code: "0", out: "1 2" });
        for (const n of [1, 2, 3]) api.unmarkJob(NAMESPACE, `apisix-etcd-backup-2900000${n}`);
        api.unmarkJob(NAMESPACE, "other");
        const users = new Set(api.requests.map((r) => `${r.user} ${r.status}`));
        expect([...users]).toEqual(["system:serviceaccount:etcd:apisix-etcd-defrag 200"]);
    });

    test("a Job pod of the sandbox counts as active while it runs, and no longer once it is gone", async () => {
        const running = await sandbox.startJobPod(extraJobs[0]);
        await waitFor("the backup-like pod running", async () => running.containerStatuses()[0].running || undefined, { timeoutMs: WAIT_MS, intervalMs: 50 });
        expect(await listBackups("while-running")).toEqual({ code: "0", out: "1" });
        await running.delete(0);
        expect(await listBackups("after-delete")).toEqual({ code: "0", out: "" });
    });

    test("what the stack does not grant is Forbidden: another namespace, another ServiceAccount", async () => {
        expect(await kubectl("other-namespace", `--namespace default get jobs --selector '${selector}' --output '${JSONPATH}'`)).toEqual({
            code: "1",
            out: 'Error from server (Forbidden): jobs.batch is forbidden: User "system:serviceaccount:etcd:apisix-etcd-defrag" cannot list resource "jobs" in API group "batch" in the namespace "default"\n',
        });
        // The auth bootstrap's ServiceAccount, with a token mounted by its pod spec: no Role grants it jobs.
        expect(await listBackups("auth-account", { serviceAccountName: "apisix-etcd-auth", automountServiceAccountToken: true })).toEqual({
            code: "1",
            out: 'Error from server (Forbidden): jobs.batch is forbidden: User "system:serviceaccount:etcd:apisix-etcd-auth" cannot list resource "jobs" in API group "batch" in the namespace "etcd"\n',
        });
    });

    test("a pod whose ServiceAccount mounts no token has no in-cluster configuration", async () => {
        expect(await listBackups("no-token", { serviceAccountName: "apisix-etcd-auth" })).toEqual({
            code: "1",
            out: "The connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
        });
    });

    test("any other call fails, saying what the stand-in answers", async () => {
        for (const [name, args] of [
            ["get-pods", "get pods"],
            ["other-output", `--namespace ${NAMESPACE} get jobs --selector '${selector}' --output json`],
            ["delete-job", `--namespace ${NAMESPACE} delete job x`],
        ]) {
            const result = await kubectl(name, args);
            expect({ name, ...result }).toEqual({ name, code: "1", out: expect.stringContaining(`not a call it answers: kubectl ${args.replace(/'/g, "")}\n`) });
        }
    });
});
