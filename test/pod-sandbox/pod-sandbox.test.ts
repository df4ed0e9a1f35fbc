// The pod sandbox itself, on small hand-written pods (spelled out here on purpose: this tests the
// harness, not the stack): what a container sees (user, groups, read-only root, volumes with their
// modes and group, variables, only its image's programs, cluster DNS), the pod lifecycle (init
// containers, probes and restarts, SIGTERM and grace, preStop, kill), the network faults, stand-in
// servers over https, and that nothing is left behind.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as https from "node:https";
import type { RenderedManifest } from "../rendered-plan";
import { waitFor } from "../etcd/wait";
import { PodSandbox } from "./pod-sandbox";
import type { ContainerSpec, PodSpec } from "./pod-manifest";
import type { SandboxPod } from "./sandbox-pod";

jest.setTimeout(60_000);

const WAIT_MS = 15_000;
const TOOLS = "alpine/k8s:1.34.1";
const ETCD = "gcr.io/etcd-development/etcd:v3.5.16";
const NON_ROOT = { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, runAsNonRoot: true };

const job = (name: string, spec: Partial<PodSpec> & { containers: ContainerSpec[] }, backoffLimit = 0): RenderedManifest => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "demo" },
    spec: { backoffLimit, template: { metadata: { labels: { app: name } }, spec: { restartPolicy: "Never", securityContext: NON_ROOT, ...spec } } },
});

/** Whether `pid` is a process that runs (not gone, not a zombie waiting for its new parent to reap it). */
function processRuns(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

const shell = (name: string, script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({ name, image: TOOLS, command: ["/bin/sh", "-c", script], ...extra });

describe("the pod sandbox", () => {
    let sandbox: PodSandbox;
    const manifests: RenderedManifest[] = [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "demo" }, data: { greeting: "hello", "level.txt": "debug" } },
        // A headless Service publishing not-ready pods (as the stack's), and a ClusterIP Service.
        { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "demo" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] } },
        { apiVersion: "v1", kind: "Service", metadata: { name: "members", namespace: "demo" }, spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: { app: "member" }, ports: [{ port: 2379 }] } },
    ];

    beforeAll(async () => {
        sandbox = await PodSandbox.create({
            manifests,
            secrets: { token: { "key.pem": "KEY", "user": "alice" } },
            trustSandboxCa: true,
        });
    });

    afterAll(async () => {
        await sandbox?.close();
    });

    async function runToEnd(manifest: RenderedManifest): Promise<SandboxPod> {
        const pod = await sandbox.startJobPod(manifest);
        await pod.waitCompleted(WAIT_MS);
        if (pod.failure) throw pod.failure;
        return pod;
    }

    test("a container runs as the pod's user with fsGroup, on a read-only root, with its volumes, variables and cluster DNS", async () => {
        const pod = await runToEnd(
            job("inspect", {
                volumes: [
                    { name: "tmp", emptyDir: {} },
                    { name: "secret", secret: { secretName: "token", defaultMode: 0o440, items: [{ key: "key.pem", path: "keys/key.pem" }] } },
                    { name: "config", configMap: { name: "settings", items: [{ key: "level.txt", path: "level", mode: 0o400 }] } },
                ],
                containers: [
                    shell(
                        "main",
                        [
                            "grep -E '^(Uid|Gid|Groups):' /proc/self/status | tr -s '\\t ' ' '",
                            "touch /root-file 2>/dev/null && echo root-writable || echo root-read-only",
                            "echo data > /tmp/scratch && echo tmp-writable",
                            "stat -c 'secret %a %g' /etc/secret/keys/key.pem && cat /etc/secret/keys/key.pem && echo",
                            "stat -c 'config %a' /etc/config/level",
                            // A volume inside another's mountPath, and one file of a volume (subPath).
                            "cat /tmp/nested/keys/key.pem && echo ' nested' && cat /etc/key-file && echo ' file'",
                            'echo "env $POD_NAME $NAMESPACE $GREETING $USER_NAME $CFG_greeting $PATH"',
                            // What the container's first process was started with, before its shell added anything.
                            "echo \"environ $(tr '\\0' '\\n' < /proc/$$/environ | cut -d= -f1 | sort | tr '\\n' ' ')\"",
                            "grep -c web.demo.svc.cluster.local /etc/hosts",
                            "kubectl version 2>/dev/null || echo no-kubectl",
                        ].join("\n"),
                        {
                            args: [],
                            securityContext: { readOnlyRootFilesystem: true },
                            env: [
                                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                                { name: "GREETING", valueFrom: { configMapKeyRef: { name: "settings", key: "greeting" } } },
                                { name: "USER_NAME", valueFrom: { secretKeyRef: { name: "token", key: "user" } } },
                            ],
                            envFrom: [{ prefix: "CFG_", configMapRef: { name: "settings" } }],
                            volumeMounts: [
                                { name: "tmp", mountPath: "/tmp" },
                                { name: "secret", mountPath: "/etc/secret", readOnly: true },
                                { name: "config", mountPath: "/etc/config" },
                                { name: "secret", mountPath: "/tmp/nested", readOnly: true },
                                { name: "secret", mountPath: "/etc/key-file", subPath: "keys/key.pem", readOnly: true },
                            ],
                        },
                    ),
                ],
            }),
        );
        const log = pod.logs("main");
        expect(pod.phase).toBe("Succeeded");
        expect(log).toContain("Uid: 65532 65532 65532 65532");
        expect(log).toContain("Gid: 65532 65532 65532 65532");
        expect(log).toMatch(/Groups: 65532\s*\n/);
        expect(log).toContain("root-read-only");
        expect(log).toContain("tmp-writable");
        expect(log).toContain("secret 440 65532\nKEY");
        expect(log).toContain("config 400");
        expect(log).toContain("KEY nested\nKEY file");
        expect(log).toContain(`env ${pod.name} demo hello alice hello /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
        expect(log).toMatch(/^environ (.*)$/m);
        // The declared ones, and what the runtime adds (the image's PATH, HOSTNAME); nothing of the sandbox's.
        expect(log.match(/^environ (.*)$/m)![1].trim().split(" ")).toEqual(["CFG_greeting", "CFG_level.txt", "GREETING", "HOSTNAME", "NAMESPACE", "PATH", "POD_NAME", "USER_NAME"]);
        expect(log).toMatch(/^1$/m);
        // The alpine/k8s kubectl is the sandbox's stand-in (kubernetes-api-stand-in.ts), which refuses `version`.
        expect(log).toContain("no-kubectl");
    });

    test("a program its image does not have fails the container: the etcd image has no shell", async () => {
        const pod = await runToEnd(job("no-shell", { containers: [{ name: "main", image: ETCD, command: ["/bin/sh", "-c", "echo should not run"] }] }));
        expect(pod.phase).toBe("Failed");
        expect(pod.containerStatuses()[0].exits).toEqual([{ code: 127, signal: null }]);
        expect(pod.logs("main")).not.toContain("should not run");
    });

    test("alpine/k8s runs jq 1.8 (Alpine's line, on the C library it is built for), with the machine's curl beside it", async () => {
        // pick/1 is new in jq 1.7 (bookworm's 1.6 has no such builtin); the machine's curl runs beside it.
        const pod = await runToEnd(job("jq-line", { containers: [shell("main", `jq --version; jq -nc '{"a":1,"b":2} | pick(.a)'; curl --version | head -n 1 | cut -d' ' -f1`)] }));
        expect(pod.phase).toBe("Succeeded");
        expect(pod.logs("main").trimEnd().split("\n")).toEqual([expect.stringMatching(/^jq-1\.8\./), '{"a":1}', "curl"]);
    });

    test("init containers run in order, each to exit 0, before the containers; a failing one fails the pod", async () => {
        const good = await runToEnd(
            job("init-order", {
                volumes: [{ name: "work", emptyDir: {} }],
                initContainers: [shell("first", "echo one > /work/log", { volumeMounts: [{ name: "work", mountPath: "/work" }] }), shell("second", "echo two >> /work/log", { volumeMounts: [{ name: "work", mountPath: "/work" }] })],
                containers: [shell("main", "cat /work/log", { volumeMounts: [{ name: "work", mountPath: "/work" }] })],
            }),
        );
        expect(good.phase).toBe("Succeeded");
        expect(good.logs("main")).toContain("one\ntwo\n");

        const bad = await runToEnd(job("init-fails", { initContainers: [shell("first", "exit 3")], containers: [shell("main", "echo never")] }));
        expect(bad.phase).toBe("Failed");
        expect(bad.containerStatuses().map((s) => s.exits)).toEqual([[{ code: 3, signal: null }], []]);
        expect(bad.logs("main")).toBe("");
    });

    test("a Job makes a new pod after a failed one, up to backoffLimit", async () => {
        const run = await sandbox.runJob(job("always-fails", { containers: [shell("main", "exit 1")] }, 1), 30_000);
        expect(run.succeeded).toBe(false);
        expect(run.pods.map((p) => p.phase)).toEqual(["Failed", "Failed"]);
    });

    test("a failing liveness probe restarts the container; readiness routes the ClusterIP Service", async () => {
        // An etcd member as a web server: ready once it serves /health; the liveness probe asks a port nothing serves.
        const member: ContainerSpec = {
            name: "etcd",
            image: ETCD,
            command: ["/usr/local/bin/etcd"],
            env: [
                { name: "ETCD_DATA_DIR", value: "/data/member" },
                { name: "ETCD_LISTEN_CLIENT_URLS", value: "http://0.0.0.0:2379" },
                { name: "ETCD_ADVERTISE_CLIENT_URLS", value: "http://web-0:2379" },
                { name: "ETCD_LISTEN_PEER_URLS", value: "http://127.0.0.1:2380" },
            ],
            ports: [{ name: "http", containerPort: 2379 }],
            readinessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 1 },
            livenessProbe: { httpGet: { path: "/health", port: 9999 }, periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 2 },
            volumeMounts: [{ name: "data", mountPath: "/data" }],
        };
        const service = sandbox.etcdClient("http://web.demo.svc.cluster.local", { timeoutMs: 1000 });
        await expect(service.health()).rejects.toThrow(); // no ready endpoint: the connection is refused
        const pod = await sandbox.startPod({
            name: "web-0",
            namespace: "demo",
            template: { metadata: { labels: { app: "web" } }, spec: { securityContext: NON_ROOT, terminationGracePeriodSeconds: 5, volumes: [{ name: "data", emptyDir: {} }], containers: [member] } },
        });
        await sandbox.waitReady(["web-0"], WAIT_MS);
        expect(await service.health()).toBe(true);
        await waitFor("a restart by the liveness probe", async () => pod.containerStatuses()[0].restarts >= 1, { timeoutMs: WAIT_MS });
        // Stopped with SIGTERM, which etcd re-raises after its clean shutdown.
        expect(pod.containerStatuses()[0].exits[0]).toEqual({ code: null, signal: "SIGTERM" });
        expect(pod.logs("etcd")).toContain('"msg":"received signal; shutting down","signal":"terminated"');
        await pod.delete();
        await expect(service.health()).rejects.toThrow();
    });

    test("pod names resolve in every pod and follow pods that come and go; a cut link isolates the pod", async () => {
        const member = (name: string) =>
            sandbox.startPod({
                name,
                namespace: "demo",
                hostname: name,
                subdomain: "members",
                template: { metadata: { labels: { app: "member" } }, spec: { securityContext: NON_ROOT, terminationGracePeriodSeconds: 2, containers: [shell("main", "trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.2; done")] } },
            });
        const a = await member("m-a");
        const b = await member("m-b");
        const hostsOf = (pod: SandboxPod) => pod.exec("main", ["cat", "/etc/hosts"], 10_000).then((r) => r.output);
        expect(await hostsOf(a)).toContain(`${b.ip}\tm-b.members.demo.svc.cluster.local m-b.members m-b.members.demo m-b.members.demo.svc`);
        expect(await hostsOf(b)).toContain(`${b.ip}\tm-b.members.demo.svc.cluster.local\tm-b\n`); // its own entry, as the kubelet writes it
        expect(await hostsOf(b)).toContain(`${a.ip}\tm-a.members.demo.svc.cluster.local m-a.members`);
        const reach = (from: SandboxPod, to: string) => from.exec("main", ["sh", "-c", `curl -s -m 1 http://${to}:1 ; echo "exit $?"`], 10_000).then((r) => r.output.trim());
        expect(await reach(a, "m-b.members.demo.svc.cluster.local")).toBe("exit 7"); // reached: refused at the port
        await b.setLink(false);
        expect(await reach(a, "m-b.members.demo.svc.cluster.local")).toBe("exit 28"); // no answer at all
        await b.setLink(true);
        await waitFor("the link back", async () => (await reach(a, b.ip)) === "exit 7", { timeoutMs: WAIT_MS });

        // Deleted: SIGTERM (the trap runs), its name leaves the others' hosts.
        await b.delete();
        expect(b.logs("main")).toContain("got TERM");
        expect(await hostsOf(a)).not.toContain("m-b.members");
        // Killed: no TERM, no preStop.
        await a.kill();
        expect(a.logs("main")).not.toContain("got TERM");
        expect(a.containerStatuses()[0].exits).toEqual([{ code: null, signal: "SIGKILL" }]);
    });

    test("a StatefulSet pod keeps its claim across a delete and a new start; a deleted claim starts empty", async () => {
        const statefulSet = sandbox.statefulSet({
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "keeper", namespace: "demo" },
            spec: {
                replicas: 1,
                serviceName: "members",
                template: {
                    metadata: { labels: { app: "keeper" } },
                    spec: {
                        securityContext: NON_ROOT,
                        terminationGracePeriodSeconds: 2,
                        containers: [shell("main", "cat /data/count 2>/dev/null || echo none; echo kept >> /data/count; sleep 600", { volumeMounts: [{ name: "data", mountPath: "/data" }] })],
                    },
                },
                volumeClaimTemplates: [{ metadata: { name: "data" } }],
            },
        });
        const firstLine = async () => {
            const pod = await statefulSet.startPod(0);
            await waitFor("the container's first line", async () => pod.logs("main").includes("\n"), { timeoutMs: WAIT_MS });
            return pod.logs("main").split("\n")[0];
        };
        expect(statefulSet.claimName(0)).toBe("data-keeper-0");
        expect(await firstLine()).toBe("none");
        expect(() => statefulSet.deleteClaim(0)).toThrow(/in use by pod keeper-0/);
        await statefulSet.deletePod(0);
        expect(await firstLine()).toBe("kept");
        await statefulSet.killPod(0);
        statefulSet.deleteClaim(0);
        expect(await firstLine()).toBe("none");
        await statefulSet.killPod(0);
    });

    test("preStop runs before SIGTERM; after the grace period SIGKILL follows", async () => {
        const pod = await sandbox.startPod({
            name: "stubborn",
            namespace: "demo",
            template: {
                spec: {
                    securityContext: NON_ROOT,
                    terminationGracePeriodSeconds: 1,
                    volumes: [{ name: "tmp", emptyDir: {} }],
                    containers: [shell("main", "trap 'echo ignoring TERM' TERM; echo trapping; while :; do sleep 0.2; done", { lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo stopping > /tmp/prestop"] } } }, volumeMounts: [{ name: "tmp", mountPath: "/tmp" }] })],
                },
            },
        });
        // Running is not enough: the SIGTERM must come after the trap (on a busy machine, the set-up may not have run yet).
        await waitFor("the trap set", async () => pod.logs("main").includes("trapping"), { timeoutMs: WAIT_MS });
        const started = Date.now();
        await pod.delete();
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
        expect(pod.containerStatuses()[0].exits).toEqual([{ code: null, signal: "SIGKILL" }]);
        expect(pod.logs("main")).toContain("ignoring TERM");
    });

    test("a container's processes end with its first process, as with the container's PID 1: a child of a shell SIGTERMed does not run on", async () => {
        // No pid namespace here: the pid the shell prints is the machine's.
        const pod = await sandbox.startPod({ name: "parent", namespace: "demo", template: { spec: { securityContext: NON_ROOT, terminationGracePeriodSeconds: 5, containers: [shell("main", 'sleep 600 & echo "child $!"; wait')] } } });
        await waitFor("the child's pid", async () => /child \d+\n/.test(pod.logs("main")), { timeoutMs: WAIT_MS });
        const child = Number(/child (\d+)/.exec(pod.logs("main"))![1]);
        expect(processRuns(child)).toBe(true);
        await pod.delete();
        // The shell dies of the SIGTERM at once; its child is not a process the signal reached.
        expect(pod.containerStatuses()[0].exits).toEqual([{ code: null, signal: "SIGTERM" }]);
        await waitFor("the child gone", async () => !processRuns(child), { timeoutMs: WAIT_MS });
    });

    test("a stand-in server of the test answers pods by name over https, trusted through the image's CA bundle", async () => {
        const names = ["storage.googleapis.com"];
        const { cert, key } = sandbox.issueServerCertificate(names);
        const server = https.createServer({ cert, key }, (request, response) => response.end(`stand-in saw ${request.method} ${request.url}`));
        try {
            await sandbox.serveStandIn({ names, port: 443, server });
            const pod = await runToEnd(job("client", { containers: [shell("main", "curl -sS --max-time 5 https://storage.googleapis.com/upload/x")] }));
            expect(pod.logs("main")).toBe("stand-in saw GET /upload/x");
            expect(pod.phase).toBe("Succeeded");
        } finally {
            server.close();
        }
    });

    test("a process that may not make namespaces gets an error that says so", () => {
        // As an unprivileged user (nobody): unshare is refused with EPERM, as on a machine without the rights.
        const script = 'require("./outer-namespace").OuterNamespace.open("/tmp").then(() => console.log("opened"), (e) => console.log(e.message))';
        const run = spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, "-r", path.join(__dirname, "..", "..", "node_modules", "ts-node", "register", "transpile-only"), "-e", script], {
            cwd: __dirname,
            encoding: "utf8",
            env: { PATH: process.env.PATH, HOME: "/tmp" },
            timeout: 60_000, // ts-node's start on a busy machine
        });
        expect({ stdout: run.stdout, error: run.error?.message }).toEqual({ stdout: expect.stringMatching(/^this machine cannot make the pod sandbox's namespaces .*Operation not permitted.*needs root/m), error: undefined });
    }, 90_000);

    test("close() stops every process and removes the namespace and the directories", async () => {
        const pod = await sandbox.startPod({ name: "left-running", namespace: "demo", template: { spec: { securityContext: NON_ROOT, containers: [shell("main", "sleep 600")] } } });
        await waitFor("the container running", async () => pod.containerStatuses()[0].running, { timeoutMs: WAIT_MS });
        const pids = [sandbox.outer.pid, ...sandbox.pods.flatMap((p) => p.containerStatuses().flatMap((s) => (s.pid === undefined ? [] : [s.pid])))];
        const dir = sandbox.dir;
        await sandbox.close();
        for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
        expect(existsSync(dir)).toBe(false);
    });
});
