// A rendered stack's members run in the pod sandbox for the membership tests: the StatefulSet at any
// replica count (a change of `replicas` changes nothing else of it: components/etcd/cluster.test.ts), its
// scale-down Job, a watch on the membership for what must never happen, and what the members' steps said.
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { declareStacks, type StackVariant } from "../stack-under-mocks";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { stackSecrets } from "../pod-sandbox/sandbox-secrets";
import type { EtcdMember } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";

/** The resources a stack declares, as firstDeploy and the Secrets read them (plan.json's or a stack declared under mocks). */
type DeclaredPlan = Parameters<MemberPods["firstDeploy"]>[0];

export class MemberCluster {
    private constructor(
        readonly sandbox: PodSandbox,
        readonly manifests: readonly RenderedManifest[],
        readonly plan: DeclaredPlan,
        /** PEM of the CA of the members' certificate (the test's clients trust it when clients use https). */
        readonly caCert: string,
    ) {}

    /**
     * A sandbox for a stack's manifests, with the Secrets the stack would generate: `stack` names a stack the
     * plan CLI renders (default prod), or is a stack file with changed keys, declared under mocks.
     */
    static async create(stack: string | StackVariant = "prod"): Promise<MemberCluster> {
        const { manifests, plan } = typeof stack === "string" ? renderedPlan(stack) : await declaredPlan(stack);
        const { secrets, caCert } = stackSecrets({ manifests, resources: plan.resources });
        const sandbox = await PodSandbox.create({ manifests, secrets });
        return new MemberCluster(sandbox, manifests, plan, caCert);
    }

    get statefulSetManifest(): RenderedManifest {
        return findManifest(this.manifests, "StatefulSet", "apisix-etcd");
    }

    /** The StatefulSet as `pulumi up` leaves it with `replicas` (only the count differs) and its members. */
    at(replicas: number): { pods: StatefulSetPods; members: MemberPods } {
        const manifest = this.statefulSetManifest;
        const pods = this.sandbox.statefulSet({ ...manifest, spec: { ...manifest.spec, replicas } });
        const config = String(findManifest(this.manifests, "ConfigMap", "apisix-etcd-config").data["etcd.yaml"]);
        const httpsClients = /^advertise-client-urls: "?https:/m.test(config);
        return { pods, members: new MemberPods(this.sandbox, pods, httpsClients ? { ca: this.caCert } : {}) };
    }

    /** Runs the rendered scale-down Job (what `pulumi up` does before it changes the StatefulSet). */
    async scaleDown(timeoutMs: number): Promise<{ succeeded: boolean; log: string }> {
        const run = await this.sandbox.runJob(findManifest(this.manifests, "Job", "apisix-etcd-scale-down"), timeoutMs);
        return { succeeded: run.succeeded, log: run.pods.map((pod) => pod.logs("scale-down")).join("") };
    }

    /** Every log line the member-join steps and membership containers of pod `name` wrote, over all its pods. */
    stepLog(name: string): string {
        return this.sandbox.pods
            .filter((pod) => pod.name === name)
            .map((pod) => pod.logs("member-join") + pod.logs("membership"))
            .join("");
    }

    /** The log of etcd in every pod that was `name`. */
    etcdLog(name: string): string {
        return this.sandbox.pods
            .filter((pod) => pod.name === name)
            .map((pod) => pod.logs("etcd"))
            .join("");
    }

    async close(): Promise<void> {
        await this.sandbox.close();
    }
}

/** What `variant` declares under mocks; fails with the program's error. */
async function declaredPlan(variant: StackVariant): Promise<{ manifests: RenderedManifest[]; plan: DeclaredPlan }> {
    const [stack] = await declareStacks([variant]);
    if (stack.error) throw new Error(`${variant.stackFile} with ${JSON.stringify(variant.changes ?? {})}: ${stack.error}`);
    return { manifests: stack.manifests, plan: { resources: stack.resources } };
}

/**
 * Polls the member list through `members` every 100 ms until stopped and records what must never be:
 * two learners at once, and a learner whose pod is Ready (the client Service would route to it, and a
 * learner refuses clients and the membership calls).
 */
export class MembershipWatch {
    private readonly found = new Set<string>();
    readonly seen: EtcdMember[][] = [];
    private stopped = false;
    private readonly loop: Promise<void>;

    constructor(members: MemberPods) {
        this.loop = (async () => {
            while (!this.stopped) {
                for (const ordinal of members.running()) {
                    // Ready before and after the list: a learner in it was Ready meanwhile (not just promoted since).
                    const readyBefore = new Set(members.sandbox.pods.filter((p) => p.ready).map((p) => p.name));
                    const list = await members.client(ordinal).memberList().catch(() => undefined);
                    if (!list) continue;
                    this.seen.push(list);
                    const learners = list.filter((m) => m.isLearner);
                    if (learners.length > 1) this.found.add(`two learners: ${learners.map((m) => m.id).join(", ")}`);
                    for (const learner of learners) {
                        // An unstarted learner has no name yet: its pod's is the first label of its peer URL's host.
                        const name = learner.name || new URL(learner.peerURLs[0]).hostname.split(".")[0];
                        const pod = members.sandbox.pods.filter((p) => p.name === name).pop();
                        if (pod?.ready && readyBefore.has(name)) this.found.add(`learner ${learner.id} (${name}) has a Ready pod`);
                    }
                    break;
                }
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        })();
    }

    /** Each violation seen, once. */
    get violations(): string[] {
        return [...this.found];
    }

    async stop(): Promise<string[]> {
        this.stopped = true;
        await this.loop;
        return this.violations;
    }
}

/** The pods of the stack's first `count` members. */
export const memberNames = (count: number): string[] => Array.from({ length: count }, (_, i) => `apisix-etcd-${i}`);

/** The peer URL the stack declares for the member of pod `pod` (prod's and dev's namespace `etcd`). */
export const memberPeerUrl = (pod: string): string => `https://${pod}.apisix-etcd-headless.etcd.svc.cluster.local:2380`;

/** Each running etcd container of `ordinals`: its pid and restarts (a restart changes either). */
export const etcdProcesses = (pods: StatefulSetPods, ordinals: readonly number[]) =>
    ordinals.map((ordinal) => {
        const status = pods.pod(ordinal).containerStatuses().find((c) => c.name === "etcd")!;
        return { ordinal, pid: status.pid, restarts: status.restarts };
    });

/** Polls /health of member `ordinal` every 100 ms until stopped, counting the polls without quorum. */
export class QuorumWatch {
    private lost = 0;
    private stopped = false;
    private readonly loop: Promise<void>;

    constructor(members: MemberPods, ordinal = 0) {
        this.loop = (async () => {
            while (!this.stopped) {
                if (!(await members.client(ordinal).health().catch(() => false))) this.lost++;
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        })();
    }

    /** Stops polling; the polls that found no quorum. */
    async stop(): Promise<number> {
        this.stopped = true;
        await this.loop;
        return this.lost;
    }
}

/** Waits until the cluster lists exactly `names` as started voting members, no learner, and every member is healthy. */
export async function waitVoting(members: MemberPods, names: readonly string[], timeoutMs: number): Promise<EtcdMember[]> {
    const list = await waitFor(
        `voting members ${names.join(", ")}`,
        async () => {
            for (const ordinal of members.running()) {
                const list = await members.client(ordinal).memberList().catch(() => undefined);
                if (!list) continue;
                const voting = list.filter((m) => !m.isLearner && m.name !== "").map((m) => m.name).sort();
                if (list.length === names.length && JSON.stringify(voting) === JSON.stringify([...names].sort())) return list;
                throw new Error(`members now: ${list.map((m) => `${m.name || "(unstarted)"}${m.isLearner ? " (learner)" : ""}`).join(", ")}`);
            }
            throw new Error("no running member answers");
        },
        { timeoutMs, intervalMs: 200 },
    ).catch((error) => {
        throw new Error(`${(error as Error).message}\nthe membership steps' last lines:\n${stepTails(members)}`, { cause: error });
    });
    await members.waitHealthy(timeoutMs);
    return list;
}

/** The last lines of each running member's member-join step and membership container, with their restarts. */
export function stepTails(members: MemberPods, lines = 6): string {
    return members
        .running()
        .map((ordinal) => {
            const pod = members.statefulSet.pod(ordinal);
            const tail = (container: string) => pod.logs(container).trimEnd().split("\n").slice(-lines).join("\n");
            const restarts = pod.containerStatuses().map((c) => `${c.name}:${c.restarts}`).join(" ");
            return `--- ${pod.name} (restarts ${restarts}):\n${tail("member-join")}\n${tail("membership")}`;
        })
        .join("\n");
}
