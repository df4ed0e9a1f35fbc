/**
 * A Kubernetes node in a box for the real-etcd tests: runs the pods of the rendered StatefulSet,
 * Jobs and CronJobs (from `manifests.yaml`, unchanged) as the kubelet would, each in its own network
 * namespace on one private bridge inside an outer network and mount namespace that only this
 * sandbox sees (outer-namespace.ts). What it provides, and how:
 *
 * - Addresses from 198.18.0.0/15 only: the bridge 198.18.0.1, pods 198.18.0.10 upwards (a new
 *   address for every new pod, as a rescheduled pod gets on GKE), Services 198.19.0.x, stand-in
 *   servers 198.19.1.x. Nothing routes out of the range.
 * - Cluster DNS through each pod's own /etc/hosts (kept current as pods come and go): the pod
 *   names of headless Services (`<pod>.<service>.<namespace>.svc.cluster.local`, ready or not when
 *   the Service publishes not-ready addresses), every ClusterIP Service's name and the names of
 *   stand-in servers; in the pod's own namespace also the short forms. `pinHostsEntry` makes one
 *   pod's view of a name stale.
 * - A ClusterIP Service is a proxy on its address that sends each new connection to a ready
 *   endpoint (readiness from the pod's readinessProbe), round robin.
 * - Volumes, containers, probes and termination: sandbox-pod.ts; images: image-contents.ts.
 * - Secrets are what the test hands in (`secrets`): the rendered ones hold only placeholders.
 *   ConfigMaps come from the manifests.
 *
 * Stand-in servers (e.g. GCS, the GKE metadata server) for a test: `serveStandIn({ names, port,
 * server })` listens with the test's own `net.Server` (http.Server, https.Server) on a sandbox
 * address under those names (e.g. `metadata.google.internal`, `storage.googleapis.com`); pods reach
 * it by name. For https, `issueServerCertificate(names)` gives a key pair from the sandbox's CA,
 * whose certificate every pod trusts: it is mounted at the image's CA bundle path (e.g.
 * /etc/ssl/certs/ca-certificates.crt, what curl reads) when the sandbox was created with
 * `trustSandboxCa: true`.
 *
 * The test reaches pods and Services by name or address with `dial`, `etcdClient` and `http`.
 * `close()` kills every pod and removes every namespace and directory; call it in afterAll (also
 * runs when a test failed). The machine's own network, files and mounts are never touched.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { debianUserland, etcdBinaries } from "../etcd/binaries";
import { EtcdClient, type EtcdClientOptions } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";
import type { RenderedManifest } from "../rendered-plan";
import { imageDirectories } from "./container-root";
import { imageContents, type DebianPrograms, type ImageContents } from "./image-contents";
import { OuterNamespace } from "./outer-namespace";
import { podHttp, type PodHttpOptions } from "./pod-http";
import { jobSpecOf, podTemplateOf, type PodTemplate, type WorkloadManifest } from "./pod-manifest";
import { claimDirectory } from "./pod-volumes";
import { containerPort } from "./probe";
import { SandboxPod, type BeforeContainer, type PodNode } from "./sandbox-pod";

const CLUSTER_DOMAIN = "cluster.local";
/** The Job controller's back-off between failed pods: 10 s doubling (capped at 6 minutes). */
const JOB_BACKOFF_START_MS = 10_000;

export interface PodSandboxOptions {
    /** The rendered manifests (Services, ConfigMaps and the workloads to run). */
    manifests: readonly RenderedManifest[];
    /** Secret name -> key -> value: the Secrets the pods use (the rendered ones hold placeholders). */
    secrets: Readonly<Record<string, Readonly<Record<string, string | Buffer>>>>;
    /** Mount the sandbox's CA (see issueServerCertificate) as every pod's CA bundle. */
    trustSandboxCa?: boolean;
}

interface ServiceState {
    name: string;
    namespace: string;
    headless: boolean;
    publishNotReady: boolean;
    selector: Record<string, string>;
    address?: string;
    ports: { port: number; targetPort: number | string }[];
}

export interface JobRun {
    succeeded: boolean;
    /** Every pod the Job made, in order (the last one decided). */
    pods: SandboxPod[];
}

const matches = (labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean =>
    Object.entries(selector).every(([key, value]) => labels[key] === value);

export class PodSandbox implements PodNode {
    readonly secrets: Map<string, Readonly<Record<string, string | Buffer>>>;
    readonly configMaps: Map<string, Readonly<Record<string, string | Buffer>>>;
    readonly caBundle?: string;
    /** Every pod the sandbox ever made, by creation. */
    readonly pods: SandboxPod[] = [];
    private readonly services: ServiceState[];
    private readonly standIns = new Map<string, string>();
    private readonly images = new Map<string, { contents: ImageContents; programDirs: Record<string, string> }>();
    private readonly pinned = new Map<string, Map<string, string | undefined>>();
    private readonly podsDir: string;
    private readonly claimsDir: string;
    private nextPod = 10;
    private nextService = 1;
    private nextStandIn = 1;
    private endpointsUpdate: Promise<void> = Promise.resolve();
    private endpointsError: Error | undefined;
    private admission: ((template: PodTemplate, namespace: string) => PodTemplate) | undefined;
    private closed = false;

    private constructor(
        readonly dir: string,
        readonly outer: OuterNamespace,
        readonly programs: DebianPrograms,
        readonly libraries: PodNode["libraries"],
        private readonly ca: { cert: string; key: string },
        options: PodSandboxOptions,
    ) {
        this.secrets = new Map(Object.entries(options.secrets));
        this.configMaps = new Map(
            options.manifests
                .filter((m) => m.kind === "ConfigMap")
                .map((m) => [m.metadata.name!, { ...(m.data ?? {}), ...Object.fromEntries(Object.entries(m.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(String(v), "base64")])) }]),
        );
        this.caBundle = options.trustSandboxCa ? ca.cert : undefined;
        this.podsDir = path.join(dir, "pods");
        this.claimsDir = path.join(dir, "claims");
        this.services = options.manifests
            .filter((m) => m.kind === "Service" && m.spec?.selector)
            .map((m) => ({
                name: m.metadata.name!,
                namespace: m.metadata.namespace ?? "default",
                headless: m.spec.clusterIP === "None",
                publishNotReady: m.spec.publishNotReadyAddresses === true,
                selector: m.spec.selector,
                ports: (m.spec.ports ?? []).map((p: { port: number; targetPort?: number | string }) => ({ port: p.port, targetPort: p.targetPort ?? p.port })),
            }));
    }

    /** Makes the sandbox (namespace, bridge, Service proxies); throws, saying so, when the machine cannot make namespaces. */
    static async create(options: PodSandboxOptions): Promise<PodSandbox> {
        const dir = mkdtempSync(path.join(os.tmpdir(), "pod-sandbox-"));
        let outer: OuterNamespace | undefined;
        try {
            const ca = sandboxCertificateAuthority(path.join(dir, "ca"));
            const { etcd, etcdctl, etcdutl } = await etcdBinaries();
            const { jq, usrLib, usrLib64 } = await debianUserland();
            outer = await OuterNamespace.open(dir);
            const sandbox = new PodSandbox(dir, outer, { etcd, etcdctl, etcdutl, jq }, { usrLib, usrLib64 }, ca, options);
            await sandbox.startServiceProxies();
            return sandbox;
        } catch (error) {
            await outer?.close();
            rmSync(dir, { recursive: true, force: true });
            throw error;
        }
    }

    /** A connection from the test to `host` (a name the cluster DNS knows, or an address) inside the sandbox. */
    readonly dial = (host: string, port: number): net.Socket => this.outer.dial(this.resolve(host), port);

    /** The address `name` has in the cluster DNS (or `name` itself when it is an address). */
    resolve(name: string): string {
        if (net.isIP(name)) return name;
        const address = this.records().get(name.replace(/\.$/, ""));
        if (address === undefined) throw new Error(`${name} is not a name in the sandbox's cluster DNS (known: ${[...this.records().keys()].join(", ")})`);
        return address;
    }

    /** An etcd client of `endpoint` (e.g. http://apisix-etcd-0.apisix-etcd-headless.etcd.svc.cluster.local:2379) through the sandbox. */
    etcdClient(endpoint: string, options: Omit<EtcdClientOptions, "connect"> = {}): EtcdClient {
        return new EtcdClient(endpoint, { ...options, connect: this.dial });
    }

    /** One HTTP(S) request from the test to `url` inside the sandbox. */
    http(url: string, options: PodHttpOptions): Promise<{ status: number; body: string }> {
        return podHttp(this.dial, url, options);
    }

    /** A certificate and key for a stand-in server's `names`, signed by the sandbox's CA (PEM). */
    issueServerCertificate(names: readonly string[]): { cert: string; key: string; ca: string } {
        return issueFromSandboxCa(this.ca, path.join(this.dir, "ca", `server-${this.nextStandIn}-${Date.now()}`), names);
    }

    /**
     * Serves the test's `server` on a sandbox address under `names`, on `port`: the server listens
     * on a Unix socket, the agent joins each connection to it. Returns the address.
     */
    async serveStandIn(args: { names: readonly string[]; port: number; server: net.Server }): Promise<string> {
        const address = `198.19.1.${this.nextStandIn++}`;
        const socket = path.join(this.dir, `stand-in-${address}-${args.port}.sock`);
        await new Promise<void>((resolve, reject) => {
            args.server.once("error", reject);
            args.server.listen(socket, () => resolve());
        });
        await this.outer.addAddress(address);
        await this.outer.listen(`stand-in-${address}:${args.port}`, address, args.port, socket);
        for (const name of args.names) this.standIns.set(name, address);
        this.refreshHosts();
        return address;
    }

    /** The StatefulSet `name` of the manifests, as its controller would run it (pods started on request). */
    statefulSet(manifest: RenderedManifest): StatefulSetPods {
        if (manifest.kind !== "StatefulSet") throw new Error(`${manifest.kind}/${manifest.metadata.name} is not a StatefulSet`);
        return new StatefulSetPods(this, manifest as WorkloadManifest);
    }

    /** Starts one pod of `template` named `name` (what a controller does). */
    async startPod(args: { name: string; namespace: string; template: PodTemplate; hostname?: string; subdomain?: string; beforeContainer?: BeforeContainer }): Promise<SandboxPod> {
        if (this.closed) throw new Error("the pod sandbox is closed");
        const seq = this.nextPod++;
        if (seq > 65_000) throw new Error("the sandbox ran out of pod addresses");
        const ip = `198.18.${Math.floor(seq / 256)}.${seq % 256}`;
        const template = this.admission ? this.admission(args.template, args.namespace) : args.template;
        const pod = new SandboxPod(this, { name: args.name, namespace: args.namespace, ip, seq, hostname: args.hostname, subdomain: args.subdomain }, template, this.podsDir, args.beforeContainer);
        this.pods.push(pod);
        await pod.start();
        return pod;
    }

    /**
     * One pod of a Job or CronJob (its template unchanged), left to run: `pod.waitCompleted(ms)`;
     * `beforeContainer` lets the test act between its containers (damage what one left, say).
     */
    async startJobPod(workload: RenderedManifest, attempt = 0, beforeContainer?: BeforeContainer): Promise<SandboxPod> {
        const job = workload as WorkloadManifest;
        jobSpecOf(job); // a Job or CronJob
        const template = podTemplateOf(job);
        const jobName = job.metadata.name!;
        const name = `${jobName}-${attempt}${Math.random().toString(36).slice(2, 6)}`;
        const labels = { ...template.metadata?.labels, "job-name": jobName, "batch.kubernetes.io/job-name": jobName };
        return this.startPod({ name, namespace: job.metadata.namespace ?? "default", template: { ...template, metadata: { ...template.metadata, labels } }, beforeContainer });
    }

    /**
     * Runs a Job or CronJob's Job as the Job controller does: a new pod after each failed one (with
     * its back-off), until one succeeds or backoffLimit failures; bounded by activeDeadlineSeconds
     * and `timeoutMs`, after which the running pod is deleted and the run counts as failed.
     */
    async runJob(workload: RenderedManifest, timeoutMs: number): Promise<JobRun> {
        const { backoffLimit, activeDeadlineSeconds } = jobSpecOf(workload as WorkloadManifest);
        const deadline = Date.now() + Math.min(timeoutMs, (activeDeadlineSeconds ?? Infinity) * 1000);
        const pods: SandboxPod[] = [];
        for (let attempt = 0; attempt <= backoffLimit; attempt++) {
            const pod = await this.startJobPod(workload, attempt);
            pods.push(pod);
            const phase = await this.untilDeadline(pod.completed, deadline);
            if (phase === undefined) {
                await pod.delete(0);
                return { succeeded: false, pods };
            }
            if (pod.failure) throw pod.failure;
            if (phase === "Succeeded") return { succeeded: true, pods };
            if (attempt < backoffLimit && (await this.untilDeadline(new Promise<true>((r) => setTimeout(() => r(true), JOB_BACKOFF_START_MS * 2 ** attempt)), deadline)) === undefined) break;
        }
        return { succeeded: false, pods };
    }

    /**
     * Changes every pod made from now on as an admission plugin of the API server would (e.g. the
     * ServiceAccount token of kubernetes-api-stand-in.ts).
     */
    setPodAdmission(admit: (template: PodTemplate, namespace: string) => PodTemplate): void {
        this.admission = admit;
    }

    /** Creates or replaces the Secret `name` (`kubectl apply`): pods started from now on see it. */
    setSecret(name: string, data: Readonly<Record<string, string | Buffer>>): void {
        this.secrets.set(name, data);
    }

    /** Makes `name` resolve to `address` (or not at all, undefined) in pod `podName`'s /etc/hosts: a stale or wrong DNS answer. */
    pinHostsEntry(podName: string, name: string, address: string | undefined): void {
        const overrides = this.pinned.get(podName) ?? new Map<string, string | undefined>();
        overrides.set(name, address);
        this.pinned.set(podName, overrides);
        this.refreshHosts();
    }

    /** Ends every pinned entry: every pod sees the cluster DNS again. */
    unpinHostsEntries(): void {
        this.pinned.clear();
        this.refreshHosts();
    }

    /** The running pod named `name`. */
    pod(name: string): SandboxPod {
        const pod = this.pods.filter((p) => p.name === name && p.running).pop();
        if (!pod) throw new Error(`no running pod named ${name}`);
        return pod;
    }

    /** Waits until every pod of `names` is Ready (bounded); fails at once, with its logs, when one ends. */
    async waitReady(names: readonly string[], timeoutMs: number): Promise<void> {
        await waitFor(
            `pods ${names.join(", ")} Ready`,
            async () => {
                for (const name of names) {
                    const pod = this.pods.filter((p) => p.name === name).pop();
                    if (!pod) throw new Error(`no pod ${name}`);
                    if (pod.failure) throw pod.failure;
                    if (!pod.ready) throw new Error(`${name} is not Ready`);
                }
                return true;
            },
            { timeoutMs, intervalMs: 100 },
        );
    }

    /** Resolves once the Service proxies route by the pods' latest readiness (kube-proxy's sync, in effect). */
    async endpointsSynced(): Promise<void> {
        await this.endpointsUpdate;
        if (this.endpointsError) throw this.endpointsError;
    }

    /** The directory of the claim `claimName` (the PersistentVolume the pods of the StatefulSet mount). */
    claimDir(claimName: string): string {
        return claimDirectory(this.claimsDir, claimName);
    }

    image(image: string): { contents: ImageContents; programDirs: Record<string, string> } {
        const repository = image.replace(/:[^/:]+$/, "");
        let prepared = this.images.get(repository);
        if (!prepared) {
            const contents = imageContents(image, this.programs);
            prepared = { contents, programDirs: imageDirectories(path.join(this.dir, "images", String(this.images.size)), contents) };
            this.images.set(repository, prepared);
        }
        return prepared;
    }

    /** Deletes the claim's volume (a `kubectl delete pvc` once no pod uses it). */
    deleteClaim(claimName: string): void {
        const user = this.pods.find((p) => p.running && (p.template.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claimName));
        if (user) throw new Error(`claim ${claimName} is in use by pod ${user.name}: delete the pod first`);
        rmSync(path.join(this.claimsDir, claimName), { recursive: true, force: true });
    }

    /** Kills every pod, ends the namespace, removes every directory; idempotent. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        try {
            await Promise.all(this.pods.map((pod) => pod.kill()));
            // A proxy update still under way would write to the agent after it is gone.
            await this.endpointsUpdate;
        } finally {
            await this.outer.close();
            rmSync(this.dir, { recursive: true, force: true });
        }
        if (this.endpointsError) throw this.endpointsError;
    }

    hostsFor(pod: SandboxPod): string {
        const own = pod.subdomain ? `${pod.hostname}.${pod.subdomain}.${pod.namespace}.svc.${CLUSTER_DOMAIN}` : undefined;
        const byAddress = new Map<string, string[]>();
        const records = new Map(this.records());
        for (const [name, address] of this.pinned.get(pod.name) ?? []) {
            if (address === undefined) records.delete(name);
            else records.set(name, address);
        }
        const local = `.${pod.namespace}.svc.${CLUSTER_DOMAIN}`;
        for (const [name, address] of records) {
            if (name === own) continue;
            const names = byAddress.get(address) ?? [];
            names.push(name);
            if (name.endsWith(local)) {
                const short = name.slice(0, -local.length);
                names.push(short, `${short}.${pod.namespace}`, `${short}.${pod.namespace}.svc`);
            }
            byAddress.set(address, names);
        }
        return [
            "# Kubernetes-managed hosts file (pod sandbox).",
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            own ? `${pod.ip}\t${own}\t${pod.hostname}` : `${pod.ip}\t${pod.hostname}`,
            "# cluster DNS",
            ...[...byAddress].map(([address, names]) => `${address}\t${names.join(" ")}`),
            "",
        ].join("\n");
    }

    podChanged(): void {
        if (this.closed) return;
        this.refreshHosts();
        this.endpointsUpdate = this.endpointsUpdate.then(() => this.updateEndpoints()).catch((error) => void (this.endpointsError ??= error));
    }

    /** Name -> address, as the cluster DNS answers now. */
    private records(): Map<string, string> {
        const records = new Map<string, string>();
        for (const service of this.services) {
            const fqdn = `${service.name}.${service.namespace}.svc.${CLUSTER_DOMAIN}`;
            if (service.address) records.set(fqdn, service.address);
            if (!service.headless) continue;
            for (const pod of this.livePods()) {
                if (pod.subdomain === service.name && pod.namespace === service.namespace && matches(pod.labels, service.selector) && (service.publishNotReady || pod.ready)) {
                    records.set(`${pod.hostname}.${fqdn}`, pod.ip);
                }
            }
        }
        for (const [name, address] of this.standIns) records.set(name, address);
        return records;
    }

    /** Pods that hold an address (created, not yet removed). */
    private livePods(): SandboxPod[] {
        const latest = new Map<string, SandboxPod>();
        for (const pod of this.pods) if (pod.phase === "Running" || pod.phase === "Pending") latest.set(pod.name, pod);
        return [...latest.values()];
    }

    private refreshHosts(): void {
        for (const pod of this.livePods()) pod.writeHosts();
    }

    private async startServiceProxies(): Promise<void> {
        for (const service of this.services.filter((s) => !s.headless)) {
            service.address = `198.19.0.${this.nextService++}`;
            await this.outer.addAddress(service.address);
            for (const port of service.ports) await this.outer.listen(`${service.namespace}/${service.name}:${port.port}`, service.address, port.port);
        }
    }

    private async updateEndpoints(): Promise<void> {
        for (const service of this.services.filter((s) => !s.headless)) {
            const ready = this.livePods().filter((pod) => pod.ready && pod.namespace === service.namespace && matches(pod.labels, service.selector));
            for (const port of service.ports) {
                const endpoints = ready.flatMap((pod) => {
                    const container = pod.template.spec.containers.find((c) => typeof port.targetPort === "number" || c.ports?.some((p) => p.name === port.targetPort));
                    return container ? [{ address: pod.ip, port: containerPort(container, port.targetPort) }] : [];
                });
                await this.outer.setEndpoints(`${service.namespace}/${service.name}:${port.port}`, endpoints);
            }
        }
    }

    private untilDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
        return new Promise((resolve) => {
            const timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
            void promise.then((value) => (clearTimeout(timer), resolve(value)));
        });
    }
}

/** The pods of one StatefulSet, started, deleted, killed and cut off by ordinal (the controller's part, on request). */
export class StatefulSetPods {
    readonly name: string;
    readonly namespace: string;
    readonly replicas: number;
    private readonly template: PodTemplate;
    readonly serviceName: string;
    private readonly claimTemplates: string[];

    constructor(
        private readonly sandbox: PodSandbox,
        manifest: WorkloadManifest,
    ) {
        this.name = manifest.metadata.name!;
        this.namespace = manifest.metadata.namespace ?? "default";
        this.replicas = manifest.spec.replicas ?? 1;
        this.template = podTemplateOf(manifest);
        this.serviceName = manifest.spec.serviceName;
        this.claimTemplates = (manifest.spec.volumeClaimTemplates ?? []).map((claim: { metadata: { name: string } }) => claim.metadata.name);
    }

    podName(ordinal: number): string {
        return `${this.name}-${ordinal}`;
    }

    /** The pod names, ordinal order. */
    get podNames(): string[] {
        return Array.from({ length: this.replicas }, (_, i) => this.podName(i));
    }

    /** The claim of `ordinal` for the claim template `template` (default: the first). */
    claimName(ordinal: number, template = this.claimTemplates[0]): string {
        return `${template}-${this.podName(ordinal)}`;
    }

    /** The running pod of `ordinal`. */
    pod(ordinal: number): SandboxPod {
        return this.sandbox.pod(this.podName(ordinal));
    }

    /** Starts every pod at once (podManagementPolicy Parallel, the stack's). */
    async startAll(): Promise<SandboxPod[]> {
        return Promise.all(this.podNames.map((_, ordinal) => this.startPod(ordinal)));
    }

    /**
     * Creates the pod of `ordinal` (with its claims' volumes): a new address, the same name and claims;
     * `beforeContainer` lets the test act before each container starts (hold one back, say).
     */
    async startPod(ordinal: number, beforeContainer?: BeforeContainer): Promise<SandboxPod> {
        const podName = this.podName(ordinal);
        const claims = this.claimTemplates.map((claim) => ({ name: claim, persistentVolumeClaim: { claimName: this.claimName(ordinal, claim) } }));
        const labels = { ...this.template.metadata?.labels, "statefulset.kubernetes.io/pod-name": podName, "apps.kubernetes.io/pod-index": String(ordinal) };
        const template: PodTemplate = { metadata: { ...this.template.metadata, labels }, spec: { ...this.template.spec, volumes: [...(this.template.spec.volumes ?? []), ...claims] } };
        return this.sandbox.startPod({ name: podName, namespace: this.namespace, template, hostname: podName, subdomain: this.serviceName, beforeContainer });
    }

    /** Deletes the pod of `ordinal` (preStop, SIGTERM, grace period); the claim stays. */
    async deletePod(ordinal: number, gracePeriodSeconds?: number): Promise<void> {
        await this.pod(ordinal).delete(gracePeriodSeconds);
    }

    /** SIGKILLs the pod of `ordinal` (no preStop); the claim stays. */
    async killPod(ordinal: number): Promise<void> {
        await this.pod(ordinal).kill();
    }

    /** Deletes the claim of `ordinal` (its pod must be gone). */
    deleteClaim(ordinal: number): void {
        for (const claim of this.claimTemplates) this.sandbox.deleteClaim(this.claimName(ordinal, claim));
    }

    /** Cuts (false) or restores (true) the network link of the pod of `ordinal`. */
    async setLink(ordinal: number, up: boolean): Promise<void> {
        await this.pod(ordinal).setLink(up);
    }

    /** Deletes every running pod at once (all SIGTERMed together). */
    async stopAll(gracePeriodSeconds?: number): Promise<void> {
        await Promise.all(this.podNames.map((name) => this.sandbox.pods.filter((p) => p.name === name && p.running).map((p) => p.delete(gracePeriodSeconds))).flat());
    }

    /** Waits until every pod is Ready. */
    async waitReady(timeoutMs: number): Promise<void> {
        await this.sandbox.waitReady(this.podNames, timeoutMs);
    }
}

/** The sandbox's own CA (for stand-in servers' certificates), valid for a day. */
function sandboxCertificateAuthority(dir: string): { cert: string; key: string } {
    mkdirSync(dir, { recursive: true });
    const cert = path.join(dir, "ca.crt");
    const key = path.join(dir, "ca.key");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=pod sandbox CA", "-days", "1", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], {
        stdio: ["ignore", "ignore", "pipe"],
        timeout: 10_000,
    });
    return { cert, key };
}

function issueFromSandboxCa(ca: { cert: string; key: string }, dir: string, names: readonly string[]): { cert: string; key: string; ca: string } {
    mkdirSync(dir, { recursive: true });
    const key = path.join(dir, "tls.key");
    const csr = path.join(dir, "tls.csr");
    const cert = path.join(dir, "tls.crt");
    const ext = path.join(dir, "ext.cnf");
    writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`);
    const run = (args: string[]): void => void execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
    run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${names[0]}`]);
    run(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert]);
    const read = (file: string): string => readFileSync(file, "utf8");
    return { cert: read(cert), key: read(key), ca: read(ca.cert) };
}

