// One pod on the sandbox's node, run as the kubelet runs it: its own network namespace on the bridge
// with its own address, its volumes prepared, init containers one after the other (each must exit
// 0), then its containers with their startup, liveness and readiness probes against the pod's
// address (a failed liveness or startup probe restarts the container), restarts as restartPolicy
// says (with the kubelet's back-off), and termination: preStop, SIGTERM, SIGKILL after the grace
// period; or the faults: SIGKILL without preStop, the link cut and restored. A container's other
// processes end with its first one, as they end with a container's PID 1.
import { spawn } from "node:child_process";
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { EtcdMemberProcess, type ExitInfo } from "../etcd/member-process";
import { waitFor } from "../etcd/wait";
import { containerArgv as commandOf, containerEnvironment, type KeyValueObjects, type PodFields } from "./container-environment";
import { containerArgv, holdFile, type ContainerMount, type ContainerRoot } from "./container-root";
import type { ImageContents } from "./image-contents";
import type { OuterNamespace } from "./outer-namespace";
import { BRIDGE, SANDBOX_PREFIX_LENGTH } from "./outer-namespace";
import type { Dial } from "./pod-http";
import type { ContainerSpec, PodTemplate, ProbeSpec } from "./pod-manifest";
import { prepareVolumes, type VolumeDirs } from "./pod-volumes";
import { probeOnce } from "./probe";

/** What a pod needs from its node (the sandbox). */
export interface PodNode {
    readonly outer: OuterNamespace;
    readonly secrets: KeyValueObjects;
    readonly configMaps: KeyValueObjects;
    readonly caBundle?: string;
    /** The C library and jq's libraries laid over the machine's /usr/lib and /usr/lib64 in every container. */
    readonly libraries: ContainerRoot["libraries"];
    readonly dial: Dial;
    claimDir(claimName: string): string;
    /** What `image` holds, and its program directories on the machine. */
    image(image: string): { contents: ImageContents; programDirs: Record<string, string> };
    /** The pod's /etc/hosts as it should read now. */
    hostsFor(pod: SandboxPod): string;
    /** Called when the pod's readiness or presence changed. */
    podChanged(pod: SandboxPod): void;
}

export interface PodIdentity {
    name: string;
    namespace: string;
    /** Pod address, from 198.18.0.0/15. */
    ip: string;
    /** Unique among the node's pods: names the network namespace and the host side of the link. */
    seq: number;
    hostname?: string;
    subdomain?: string;
}

/** A test's hook into a pod's lifecycle (no kubelet has one): runs before each start of a container, which waits for it. */
export type BeforeContainer = (container: string, pod: SandboxPod) => void | Promise<void>;

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

export interface ContainerStatus {
    name: string;
    restarts: number;
    /** Exits so far, in order. */
    exits: ExitInfo[];
    running: boolean;
    ready: boolean;
    /** Pid of the container's current first process. */
    pid?: number;
}

const DEFAULT_GRACE_SECONDS = 30;
// The kubelet's crash-loop back-off: the first restart at once, then 10 s doubling up to 5 minutes.
const backoffMs = (restarts: number): number => (restarts === 0 ? 0 : Math.min(10_000 * 2 ** (restarts - 1), 300_000));

/** Resolves after `ms`, or at once when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
        const done = (): void => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
        };
        const timer = setTimeout(done, ms);
        if (signal.aborted) done();
        else signal.addEventListener("abort", done, { once: true });
    });

class ContainerRun {
    readonly status: ContainerStatus;
    process: EtcdMemberProcess | undefined;
    started = false;
    ready = false;
    private probes: AbortController | undefined;

    constructor(readonly spec: ContainerSpec) {
        this.status = { name: spec.name, restarts: 0, exits: [], running: false, ready: false };
    }

    stopProbes(): void {
        this.probes?.abort();
        this.probes = undefined;
    }

    newProbes(): AbortSignal {
        this.stopProbes();
        this.probes = new AbortController();
        return this.probes.signal;
    }
}

export class SandboxPod {
    readonly name: string;
    readonly namespace: string;
    readonly ip: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly template: PodTemplate;
    readonly hostname: string;
    readonly subdomain?: string;
    readonly dir: string;
    readonly hostsFile: string;
    phase: PodPhase = "Pending";
    /** Why the sandbox could not run a container of this pod (the pod then failed). */
    failure: Error | undefined;
    /** Set once the pod is being deleted or killed: no restarts from then on. */
    terminating = false;
    /** Resolves when every container has ended for good (a Job's pod), or the pod was stopped. */
    readonly completed: Promise<PodPhase>;
    private readonly netns: string;
    private readonly hostLink: string;
    private readonly runs: ContainerRun[];
    private readonly initRuns: ContainerRun[];
    private readonly lifetime = new AbortController();
    private volumes: VolumeDirs = new Map();
    private complete!: (phase: PodPhase) => void;
    private networkUp = false;
    private hostsWritten: string | undefined;

    constructor(
        private readonly node: PodNode,
        identity: PodIdentity,
        template: PodTemplate,
        podsDir: string,
        private readonly beforeContainer?: BeforeContainer,
    ) {
        this.name = identity.name;
        this.namespace = identity.namespace;
        this.ip = identity.ip;
        this.hostname = identity.hostname ?? identity.name;
        this.subdomain = identity.subdomain;
        this.template = template;
        this.labels = template.metadata?.labels ?? {};
        this.netns = `pod${identity.seq}`;
        this.hostLink = `sbxh${identity.seq}`;
        this.dir = path.join(podsDir, `${identity.name}-${identity.seq}`);
        this.hostsFile = path.join(this.dir, "hosts");
        for (const init of template.spec.initContainers ?? []) {
            if (init.restartPolicy === "Always") throw new Error(`pod ${this.name}: init container ${init.name} is a native sidecar, which the pod sandbox does not run (the stack has none)`);
        }
        for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
            if (container.workingDir !== undefined) throw new Error(`pod ${this.name}: container ${container.name} sets workingDir, which the pod sandbox does not support (chroot starts in /)`);
        }
        this.initRuns = (template.spec.initContainers ?? []).map((spec) => new ContainerRun(spec));
        this.runs = template.spec.containers.map((spec) => new ContainerRun(spec));
        this.completed = new Promise((resolve) => (this.complete = resolve));
    }

    /** The pod's end (`completed`), bounded: rejects, naming the pod, when it still runs after `timeoutMs`. */
    async waitCompleted(timeoutMs: number): Promise<PodPhase> {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`pod ${this.name} still runs after ${timeoutMs} ms: ${JSON.stringify(this.containerStatuses())}`)), timeoutMs);
        });
        try {
            return await Promise.race([this.completed, late]);
        } finally {
            clearTimeout(timer);
        }
    }

    /** Whether every container runs, has started and passes its readiness probe. */
    get ready(): boolean {
        return this.phase === "Running" && !this.terminating && this.runs.every((run) => run.ready);
    }

    get running(): boolean {
        return this.phase === "Running" && !this.terminating;
    }

    /** Each container's restarts, exits and state (init containers first). */
    containerStatuses(): ContainerStatus[] {
        return [...this.initRuns, ...this.runs].map((run) => ({ ...run.status, exits: [...run.status.exits], running: run.process?.running ?? false, ready: run.ready, pid: run.process?.pid }));
    }

    /** Where the pod's volume `name` lies on the machine (an emptyDir's contents, say). */
    /**
     * Holds the next start of `container` after its set-up, before its command, until `release` is
     * called (at most 60 s): a tracer can then attach to its pid and see the command from the start.
     */
    holdStart(container: string): () => void {
        const file = holdFile(path.join(this.dir, "roots", container));
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, "");
        return () => rmSync(file, { force: true });
    }

    volumeDir(name: string): string {
        const dir = this.volumes.get(name);
        if (dir === undefined) throw new Error(`pod ${this.name} has no volume ${name}`);
        return dir;
    }

    /** The log (stdout and stderr, every run) of `container`. */
    logs(container: string): string {
        try {
            return readFileSync(path.join(this.dir, "logs", `${container}.log`), "utf8");
        } catch {
            return "";
        }
    }

    /** Creates the pod's network and volumes and starts its containers (in the background). */
    async start(): Promise<void> {
        mkdirSync(path.join(this.dir, "logs"), { recursive: true });
        const fsGroup = this.template.spec.securityContext?.fsGroup;
        this.volumes = prepareVolumes(this.dir, this.template.spec.volumes ?? [], this.node, fsGroup, this.template.spec.securityContext?.fsGroupChangePolicy);
        this.writeHosts();
        const ns = this.netns;
        await this.node.outer.run([
            "sh",
            "-c",
            [
                `ip netns add ${ns}`,
                `ip link add ${this.hostLink} type veth peer name eth0 netns ${ns}`,
                `ip link set ${this.hostLink} master ${BRIDGE} up`,
                `ip -n ${ns} link set lo up`,
                `ip -n ${ns} addr add ${this.ip}/${SANDBOX_PREFIX_LENGTH} dev eth0`,
                `ip -n ${ns} link set eth0 up`,
            ].join(" && "),
        ]);
        this.networkUp = true;
        this.phase = "Running";
        this.node.podChanged(this);
        void this.lifecycle();
    }

    /**
     * Brings the pod's /etc/hosts up to date. The containers' bind mounts follow the file, not a new one,
     * so it is rewritten in place, and only when it changes: a resolver reading it mid-write would miss
     * names (curl: "Could not resolve host"). One write over the old content, then the truncation: it is
     * never seen empty.
     */
    writeHosts(): void {
        const content = this.node.hostsFor(this);
        if (content === this.hostsWritten) return;
        const fd = openSync(this.hostsFile, constants.O_RDWR | constants.O_CREAT); // not O_APPEND, which would ignore the offset
        try {
            writeSync(fd, content, 0);
            ftruncateSync(fd, Buffer.byteLength(content));
        } finally {
            closeSync(fd);
        }
        this.hostsWritten = content;
    }

    /** Deletes the pod: preStop, SIGTERM, SIGKILL after the grace period (the pod's, or `gracePeriodSeconds`), then its network. */
    async delete(gracePeriodSeconds = this.template.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS): Promise<void> {
        this.beginTermination();
        const deadline = Date.now() + gracePeriodSeconds * 1000;
        await Promise.all(
            [...this.initRuns, ...this.runs].map(async (run) => {
                const proc = run.process;
                if (!proc?.running) return;
                const preStop = run.spec.lifecycle?.preStop;
                if (preStop?.exec) await this.exec(run.spec.name, preStop.exec.command, Math.max(0, deadline - Date.now())).catch(() => undefined);
                else if (preStop) throw new Error(`pod ${this.name}: container ${run.spec.name}: only exec preStop hooks are supported by the pod sandbox`);
                await proc.terminate(Math.max(0, deadline - Date.now()));
            }),
        );
        await this.removeNetwork();
    }

    /** SIGKILL to every container at once: no preStop, no grace (a node's crash, `--force --grace-period=0`). */
    async kill(): Promise<void> {
        this.beginTermination();
        await Promise.all([...this.initRuns, ...this.runs].map((run) => run.process?.kill()));
        await this.removeNetwork();
    }

    /** Cuts the pod's link to the bridge (a network partition of this pod) or restores it. */
    async setLink(up: boolean): Promise<void> {
        await this.node.outer.run(["ip", "link", "set", this.hostLink, up ? "up" : "down"]);
    }

    /**
     * Runs `argv` in the running `container` (`kubectl exec`): its root, network, user and group and
     * variables; bounded by `timeoutMs`. Resolves to the exit code and output.
     */
    async exec(container: string, argv: readonly string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
        const run = this.runs.find((r) => r.spec.name === container) ?? this.initRuns.find((r) => r.spec.name === container);
        if (!run?.process?.running) throw new Error(`pod ${this.name}: container ${container} is not running`);
        const { uid, gid } = this.identityOf(run.spec);
        const env = this.environmentOf(run.spec);
        // Until the set-up script has chrooted, the process is not yet the container's.
        const pid = run.process.pid;
        await waitFor(`container ${container} of pod ${this.name} to be set up`, async () => readlinkSync(`/proc/${pid}/root`) !== "/", { timeoutMs, intervalMs: 20 });
        // nsenter hands its own environment on: exactly the container's.
        const child = spawn("/usr/bin/nsenter", ["-t", String(run.process.pid), "-m", "-n", "-r", "-w", "-S", String(uid), "-G", String(gid), "--", ...argv], {
            stdio: ["ignore", "pipe", "pipe"],
            env: Object.fromEntries(env),
        });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        const code = await new Promise<number | null>((resolve) => {
            child.once("error", () => resolve(null));
            child.once("close", (c) => resolve(c));
        });
        clearTimeout(timer);
        return { code, output };
    }

    private beginTermination(): void {
        this.terminating = true;
        this.lifetime.abort();
        for (const run of [...this.initRuns, ...this.runs]) {
            run.stopProbes();
            run.ready = false;
        }
        this.node.podChanged(this);
    }

    private async removeNetwork(): Promise<void> {
        if (this.networkUp) {
            this.networkUp = false;
            await this.node.outer.run(["ip", "netns", "del", this.netns]);
        }
        if (this.phase === "Running" || this.phase === "Pending") this.phase = "Failed";
        this.node.podChanged(this);
        this.complete(this.phase);
    }

    private identityOf(spec: ContainerSpec): { uid: number; gid: number; groups: number[] } {
        const pod = this.template.spec.securityContext ?? {};
        const own = spec.securityContext ?? {};
        const uid = own.runAsUser ?? pod.runAsUser ?? 0;
        const gid = own.runAsGroup ?? pod.runAsGroup ?? 0;
        if ((own.runAsNonRoot ?? pod.runAsNonRoot) && uid === 0) throw new Error(`pod ${this.name}: container ${spec.name} must run as non-root but has no non-zero runAsUser`);
        const groups = [...(pod.fsGroup === undefined ? [] : [pod.fsGroup]), ...(pod.supplementalGroups ?? [])];
        return { uid, gid, groups };
    }

    private fields(): PodFields {
        return {
            name: this.name,
            namespace: this.namespace,
            uid: `sandbox-${this.netns}`,
            podIP: this.ip,
            hostIP: "198.18.0.1",
            nodeName: "sandbox-node",
            serviceAccountName: this.template.spec.serviceAccountName ?? "default",
            labels: this.labels,
            annotations: this.template.metadata?.annotations ?? {},
        };
    }

    private environmentOf(spec: ContainerSpec): Map<string, string> {
        const image = this.node.image(spec.image).contents;
        return containerEnvironment(spec, { pod: this.fields(), secrets: this.node.secrets, configMaps: this.node.configMaps, imageEnv: { ...image.env, HOSTNAME: this.hostname } });
    }

    private startContainer(run: ContainerRun): EtcdMemberProcess {
        const spec = run.spec;
        const { contents: image, programDirs } = this.node.image(spec.image);
        const env = this.environmentOf(spec);
        const { uid, gid, groups } = this.identityOf(spec);
        const mounts: ContainerMount[] = (spec.volumeMounts ?? []).map((mount) => {
            const dir = this.volumes.get(mount.name);
            if (dir === undefined) throw new Error(`pod ${this.name}: container ${spec.name} mounts volume ${mount.name}, which the pod does not declare`);
            return { source: mount.subPath ? path.join(dir, mount.subPath) : dir, target: mount.mountPath, readOnly: mount.readOnly ?? false };
        });
        const rootDir = path.join(this.dir, "roots", spec.name);
        mkdirSync(rootDir, { recursive: true });
        const argv = containerArgv({
            netns: this.netns,
            rootDir,
            image,
            programDirs,
            mounts,
            hostsFile: this.hostsFile,
            etcFiles: {
                passwd: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                group: "root:x:0:\nnogroup:x:65534:\n",
                "nsswitch.conf": "hosts: files dns\n",
                // No nameserver: every name the pod may use is in /etc/hosts; any other fails at once.
                "resolv.conf": `search ${this.namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
                hostname: `${this.hostname}\n`,
            },
            caBundle: this.node.caBundle,
            libraries: this.node.libraries,
            readOnlyRootFilesystem: spec.securityContext?.readOnlyRootFilesystem ?? false,
            uid,
            gid,
            groups,
            argv: commandOf(spec, env),
        });
        const outerArgv = this.node.outer.enter(argv);
        const proc = new EtcdMemberProcess({ binary: "/usr/bin/nsenter", args: outerArgv.slice(1), env: Object.fromEntries(env), inheritEnv: false, logDir: path.join(this.dir, "logs"), logName: spec.name, logHeader: false });
        run.process = proc;
        run.started = false;
        run.ready = false;
        return proc;
    }

    private async lifecycle(): Promise<void> {
        const policy = this.template.spec.restartPolicy ?? "Always";
        try {
            for (const run of this.initRuns) {
                for (let attempt = 0; ; attempt++) {
                    await this.beforeContainer?.(run.spec.name, this);
                    if (this.terminating) return;
                    const exit = await this.startContainer(run).exited;
                    run.status.exits.push(exit);
                    if (exit.code === 0) break;
                    if (this.terminating) return;
                    if (policy === "Never") return this.finish("Failed");
                    run.status.restarts++;
                    await sleep(backoffMs(attempt), this.lifetime.signal);
                    if (this.terminating) return;
                }
            }
            const exits = await Promise.all(this.runs.map((run) => this.keepRunning(run, policy)));
            if (!this.terminating) this.finish(exits.every((exit) => exit.code === 0) ? "Succeeded" : "Failed");
        } catch (error) {
            // A container the sandbox cannot start (an unknown image, a missing Secret key): the pod fails, saying why.
            this.failure = error as Error;
            this.finish("Failed");
        }
    }

    /** Runs one container until it ends for good; returns its last exit. */
    private async keepRunning(run: ContainerRun, policy: string): Promise<ExitInfo> {
        for (let attempt = 0; ; attempt++) {
            await this.beforeContainer?.(run.spec.name, this);
            if (this.terminating) return { code: null, signal: null };
            const proc = this.startContainer(run);
            this.watchProbes(run, proc);
            const exit = await proc.exited;
            run.stopProbes();
            run.ready = false;
            run.status.exits.push(exit);
            this.node.podChanged(this);
            if (this.terminating || policy === "Never" || (policy === "OnFailure" && exit.code === 0)) return exit;
            run.status.restarts++;
            await sleep(backoffMs(attempt), this.lifetime.signal);
            if (this.terminating) return exit;
        }
    }

    private finish(phase: PodPhase): void {
        this.phase = phase;
        this.node.podChanged(this);
        void this.removeNetwork();
    }

    /** The kubelet's probe workers for one run of a container. */
    private watchProbes(run: ContainerRun, proc: EtcdMemberProcess): void {
        const signal = run.newProbes();
        const spec = run.spec;
        const restart = (why: string): void => {
            if (signal.aborted) return;
            writeFileSync(path.join(this.dir, "logs", `${spec.name}.kubelet.log`), `${new Date().toISOString()} ${why}: restarting\n`, { flag: "a" });
            run.stopProbes();
            void proc.terminate((this.template.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000);
        };
        const setReady = (ready: boolean): void => {
            if (run.ready !== ready && !signal.aborted) {
                run.ready = ready;
                this.node.podChanged(this);
            }
        };
        const worker = async (probe: ProbeSpec | undefined, kind: "startup" | "liveness" | "readiness"): Promise<void> => {
            if (!probe) {
                if (kind === "startup") run.started = true;
                if (kind === "readiness") {
                    while (!run.started && !signal.aborted) await sleep(100, signal);
                    setReady(true);
                }
                return;
            }
            let successes = 0;
            let failures = 0;
            await sleep((probe.initialDelaySeconds ?? 0) * 1000, signal);
            while (!signal.aborted) {
                if (kind === "startup" || run.started) {
                    const result = await probeOnce(this.node.dial, this.ip, spec, probe);
                    if (signal.aborted) return;
                    successes = result.success ? successes + 1 : 0;
                    failures = result.success ? 0 : failures + 1;
                    if (kind === "startup") {
                        if (successes >= 1) {
                            run.started = true;
                            return;
                        }
                        if (failures >= (probe.failureThreshold ?? 3)) return restart(`startup probe failed ${failures} times: ${result.detail}`);
                    } else if (kind === "liveness") {
                        if (failures >= (probe.failureThreshold ?? 3)) return restart(`liveness probe failed ${failures} times: ${result.detail}`);
                    } else if (successes >= (probe.successThreshold ?? 1)) setReady(true);
                    else if (failures >= (probe.failureThreshold ?? 3)) setReady(false);
                }
                await sleep((probe.periodSeconds ?? 10) * 1000, signal);
            }
        };
        void worker(spec.startupProbe, "startup");
        void worker(spec.livenessProbe, "liveness");
        void worker(spec.readinessProbe, "readiness");
    }
}
