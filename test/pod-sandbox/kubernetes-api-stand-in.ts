/**
 * The Kubernetes API of the pod sandbox, as small as the stack's scripts need it: the pods' kubectl
 * (kubectl-stand-in.sh, the alpine/k8s image's /usr/bin/kubectl) lists Jobs by label selector in a
 * namespace, and nothing else is served. What it keeps faithful:
 *
 * - Identity: a pod gets a token only as the ServiceAccount admission plugin and the kubelet give
 *   it, i.e. when its pod spec's, else its ServiceAccount's, `automountServiceAccountToken` is not
 *   false: token, ca.crt and namespace at /var/run/secrets/kubernetes.io/serviceaccount (mode 0644,
 *   the plugin's defaultMode 420), and every container gets KUBERNETES_SERVICE_HOST and _PORT.
 *   A request without a known token is 401.
 * - Authorization: the RBAC of the manifests (Roles, ClusterRoles and their bindings) for the user
 *   `system:serviceaccount:<namespace>:<name>` and its groups; a verb, resource or namespace not
 *   granted is 403 with the API server's message (`jobs.batch is forbidden: User ... cannot list
 *   resource "jobs" in API group "batch" in the namespace ...`), which kubectl prints as
 *   `Error from server (Forbidden): ...`.
 * - State: the Jobs the test marks (`markJob`), and the Jobs of the sandbox's own Job pods (a pod
 *   labelled `job-name`; its Job's labels from the Job or CronJob manifest, else its template's),
 *   `status.active` the count of their pods still running, omitted at 0, as the Job controller
 *   writes it.
 *
 * `attach(sandbox, manifests)` serves it over https on a sandbox address under the names of the
 * `kubernetes` Service, its certificate from the sandbox's CA, and makes every later pod admitted;
 * `close()` stops it.
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import type { RenderedManifest } from "../rendered-plan";
import type { PodTemplate } from "./pod-manifest";
import type { PodSandbox } from "./pod-sandbox";

/** The local program that is the alpine/k8s image's kubectl. */
export const KUBECTL_PROGRAM = path.join(__dirname, "kubectl-stand-in.sh");

const API_PORT = 443;
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The names of the `kubernetes` Service in the default namespace (kubectl reaches it by address and this name). */
const API_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];

interface PolicyRule {
    apiGroups?: string[];
    resources?: string[];
    verbs: string[];
    resourceNames?: string[];
}

interface Subject {
    kind: string;
    name: string;
    namespace?: string;
}

interface Binding {
    /** Undefined: a ClusterRoleBinding (every namespace). */
    namespace?: string;
    roleRef: { kind: string; name: string };
    subjects: Subject[];
}

/** A Job as the API returns it: what `get jobs` reads. */
export interface JobObject {
    namespace: string;
    name: string;
    labels: Readonly<Record<string, string>>;
    /** Pods running; 0 is written as no `status.active` at all. */
    active: number;
}

/** A request the stand-in answered, for the tests to check. */
export interface ApiRequest {
    user: string | undefined;
    method: string;
    path: string;
    status: number;
}

interface Status {
    code: number;
    reason: string;
    message: string;
    details?: Record<string, string>;
}

/** The user and groups a ServiceAccount's token stands for. */
const serviceAccountUser = (namespace: string, name: string) => ({
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
});

const roleKey = (kind: string, name: string, namespace?: string): string => (kind === "ClusterRole" ? `ClusterRole/${name}` : `Role/${namespace}/${name}`);

const covers = (list: readonly string[] | undefined, value: string): boolean => (list ?? []).some((item) => item === "*" || item === value);

/** An equality-based label selector (`a=b,c!=d`, `==` too); throws naming what it cannot parse. */
function parseSelector(selector: string): (labels: Readonly<Record<string, string>>) => boolean {
    const requirements = selector
        .split(",")
        .filter((part) => part !== "")
        .map((part) => {
            const match = /^([A-Za-z0-9._/-]+)\s*(!=|==|=)\s*([A-Za-z0-9._-]*)$/.exec(part.trim());
            if (!match) throw new Error(`unable to parse requirement: ${part} (the stand-in knows =, == and != only)`);
            return { key: match[1], equal: match[2] !== "!=", value: match[3] };
        });
    return (labels) => requirements.every((r) => (labels[r.key] === r.value) === r.equal);
}

export class KubernetesApiStandIn {
    /** Every request answered, in order. */
    readonly requests: ApiRequest[] = [];
    private readonly marked = new Map<string, JobObject>();
    private readonly tokens = new Map<string, { namespace: string; name: string }>();
    private readonly roles: Map<string, PolicyRule[]>;
    private readonly bindings: Binding[];
    private readonly automount: Map<string, boolean | undefined>;
    private address: string | undefined;
    private caCert: string | undefined;
    private server: https.Server | undefined;

    private constructor(
        private readonly sandbox: PodSandbox,
        private readonly manifests: readonly RenderedManifest[],
    ) {
        this.roles = new Map(
            manifests.filter((m) => m.kind === "Role" || m.kind === "ClusterRole").map((m) => [roleKey(m.kind, m.metadata.name!, m.metadata.namespace), (m.rules ?? []) as PolicyRule[]]),
        );
        this.bindings = manifests
            .filter((m) => m.kind === "RoleBinding" || m.kind === "ClusterRoleBinding")
            .map((m) => ({ namespace: m.kind === "RoleBinding" ? m.metadata.namespace ?? "default" : undefined, roleRef: m.roleRef, subjects: m.subjects ?? [] }));
        this.automount = new Map(
            manifests.filter((m) => m.kind === "ServiceAccount").map((m) => [`${m.metadata.namespace ?? "default"}/${m.metadata.name}`, m.automountServiceAccountToken as boolean | undefined]),
        );
    }

    /** Serves the API in `sandbox` (RBAC and ServiceAccounts from `manifests`) and admits every pod made from now on. */
    static async attach(sandbox: PodSandbox, manifests: readonly RenderedManifest[]): Promise<KubernetesApiStandIn> {
        const api = new KubernetesApiStandIn(sandbox, manifests);
        const pair = sandbox.issueServerCertificate(API_NAMES);
        const server = https.createServer({ cert: pair.cert, key: pair.key }, (req, res) => api.handle(req, res));
        api.caCert = pair.ca;
        api.server = server;
        api.address = await sandbox.serveStandIn({ names: API_NAMES, port: API_PORT, server });
        sandbox.setPodAdmission((template, namespace) => api.admit(template, namespace));
        return api;
    }

    /** Stops serving (call it in afterAll, with the sandbox's close). */
    async close(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (!server?.listening) return;
        server.closeAllConnections();
        await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    }

    /** Makes the Job exist as the test says (replacing a marked one of that name): `active` pods running. */
    markJob(job: JobObject): void {
        this.marked.set(`${job.namespace}/${job.name}`, job);
    }

    /** Removes a Job `markJob` made. */
    unmarkJob(namespace: string, name: string): void {
        this.marked.delete(`${namespace}/${name}`);
    }

    /** The Jobs of `namespace`: the marked ones and those of the sandbox's Job pods. */
    jobs(namespace: string): JobObject[] {
        const jobs = new Map([...this.marked].filter(([, job]) => job.namespace === namespace));
        for (const pod of this.sandbox.pods.filter((p) => p.namespace === namespace && p.labels["job-name"] !== undefined)) {
            const name = pod.labels["job-name"];
            const key = `${namespace}/${name}`;
            const job = jobs.get(key) ?? { namespace, name, labels: this.jobLabels(namespace, name, pod.labels), active: 0 };
            jobs.set(key, { ...job, active: job.active + (pod.phase === "Running" && !pod.terminating ? 1 : 0) });
        }
        return [...jobs.values()];
    }

    /** The pod as admitted: with its ServiceAccount's token mounted unless automount is off, and the API's variables. */
    private admit(template: PodTemplate, namespace: string): PodTemplate {
        const serviceAccount = template.spec.serviceAccountName ?? "default";
        const automount = (template.spec.automountServiceAccountToken as boolean | undefined) ?? this.automount.get(`${namespace}/${serviceAccount}`) ?? true;
        const env = [
            { name: "KUBERNETES_SERVICE_HOST", value: this.address! },
            { name: "KUBERNETES_SERVICE_PORT", value: String(API_PORT) },
            { name: "KUBERNETES_SERVICE_PORT_HTTPS", value: String(API_PORT) },
        ];
        const volumeName = "kube-api-access-sandbox";
        const withApi = (containers: PodTemplate["spec"]["containers"] | undefined) =>
            containers?.map((c) => ({
                ...c,
                env: [...env, ...(c.env ?? [])],
                volumeMounts: automount ? [...(c.volumeMounts ?? []), { name: volumeName, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true }] : c.volumeMounts,
            }));
        const spec = { ...template.spec, containers: withApi(template.spec.containers)!, initContainers: withApi(template.spec.initContainers) };
        if (automount) {
            const secretName = `${serviceAccount}-token-sandbox`;
            this.sandbox.setSecret(secretName, { token: this.tokenOf(namespace, serviceAccount), "ca.crt": this.caCert!, namespace });
            spec.volumes = [...(spec.volumes ?? []), { name: volumeName, secret: { secretName, defaultMode: 0o644 } }];
        }
        return { ...template, spec };
    }

    private tokenOf(namespace: string, name: string): string {
        for (const [token, account] of this.tokens) if (account.namespace === namespace && account.name === name) return token;
        const token = randomBytes(24).toString("base64url");
        this.tokens.set(token, { namespace, name });
        return token;
    }

    /** The labels of the Job `name`: its manifest's; unset, its pod template's (the API server's default for a Job). */
    private jobLabels(namespace: string, name: string, podLabels: Readonly<Record<string, string>>): Record<string, string> {
        const manifest = this.manifests.find((m) => (m.kind === "Job" || m.kind === "CronJob") && m.metadata.name === name && (m.metadata.namespace ?? "default") === namespace);
        const declared = manifest && (manifest.kind === "CronJob" ? manifest.spec.jobTemplate.metadata?.labels : manifest.metadata.labels);
        if (declared && Object.keys(declared).length > 0) return declared;
        return Object.fromEntries(Object.entries(podLabels).filter(([key]) => !["job-name", "batch.kubernetes.io/job-name", "controller-uid", "batch.kubernetes.io/controller-uid"].includes(key)));
    }

    /** Whether some binding grants `user` `verb` on `group`/`resource` in `namespace`. */
    private allowed(account: { namespace: string; name: string }, verb: string, group: string, resource: string, namespace: string): boolean {
        const user = serviceAccountUser(account.namespace, account.name);
        const isSubject = (s: Subject) =>
            (s.kind === "ServiceAccount" && s.name === account.name && s.namespace === account.namespace) || (s.kind === "User" && s.name === user.name) || (s.kind === "Group" && user.groups.includes(s.name));
        return this.bindings.some((binding) => {
            if (binding.namespace !== undefined && binding.namespace !== namespace) return false;
            if (!binding.subjects.some(isSubject)) return false;
            const rules = this.roles.get(roleKey(binding.roleRef.kind, binding.roleRef.name, binding.namespace)) ?? [];
            // A rule naming resources does not cover a list (it has no name).
            return rules.some((rule) => covers(rule.apiGroups, group) && covers(rule.resources, resource) && covers(rule.verbs, verb) && (rule.resourceNames ?? []).length === 0);
        });
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const url = new URL(req.url ?? "/", "https://kubernetes.default.svc");
        const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
        const account = bearer === undefined ? undefined : this.tokens.get(bearer);
        const user = account && serviceAccountUser(account.namespace, account.name);
        const answer = (status: number, body: object): void => {
            this.requests.push({ user: user?.name, method: req.method ?? "", path: `${url.pathname}${url.search}`, status });
            res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
        };
        const fail = (s: Status): void => answer(s.code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", ...s });
        if (!account || !user) return fail({ code: 401, reason: "Unauthorized", message: "Unauthorized" });
        const list = /^\/apis\/batch\/v1\/namespaces\/([a-z0-9-]+)\/jobs$/.exec(url.pathname);
        if (req.method !== "GET" || !list) return fail({ code: 404, reason: "NotFound", message: `the server could not find the requested resource (the sandbox's API stand-in serves only GET /apis/batch/v1/namespaces/<namespace>/jobs)` });
        const namespace = list[1];
        if (!this.allowed(account, "list", "batch", "jobs", namespace)) {
            return fail({
                code: 403,
                reason: "Forbidden",
                message: `jobs.batch is forbidden: User "${user.name}" cannot list resource "jobs" in API group "batch" in the namespace "${namespace}"`,
                details: { group: "batch", kind: "jobs" },
            });
        }
        let selects: (labels: Readonly<Record<string, string>>) => boolean;
        try {
            selects = parseSelector(url.searchParams.get("labelSelector") ?? "");
        } catch (error) {
            return fail({ code: 400, reason: "BadRequest", message: (error as Error).message });
        }
        const items = this.jobs(namespace)
            .filter((job) => selects(job.labels))
            .map((job) => ({ metadata: { name: job.name, namespace: job.namespace, labels: job.labels }, status: job.active > 0 ? { active: job.active } : {} }));
        answer(200, { kind: "JobList", apiVersion: "batch/v1", metadata: { resourceVersion: "1" }, items });
    }
}
