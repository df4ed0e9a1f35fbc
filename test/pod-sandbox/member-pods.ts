// The etcd members of the rendered StatefulSet running in the pod sandbox, seen as a cluster: a client
// per member at its pod DNS name (the advertised client URL, unchanged), who leads, when all are
// healthy, and etcdctl inside a member's own container (`kubectl exec`), which reaches the member
// even when its link is cut.
import { EtcdClient } from "../etcd/etcd-client";
/** The resources of a plan (plan.json, or a stack declared under mocks) with their dependencies. */
interface PlannedResources {
    readonly resources: readonly { type: string; name: string; urn: string; inputs: Record<string, unknown>; options: { dependsOn?: readonly string[] } }[];
}
import { waitFor } from "../etcd/wait";
import type { PodSandbox, StatefulSetPods } from "./pod-sandbox";

export interface MemberPodsOptions {
    /** Per-request timeout of the clients; default 2000 ms (a member without leader fails fast). */
    timeoutMs?: number;
    /** PEM of the CA that verifies members serving clients over https. */
    ca?: string;
}

export class MemberPods {
    private readonly clients: EtcdClient[];

    constructor(
        readonly sandbox: PodSandbox,
        readonly statefulSet: StatefulSetPods,
        options: MemberPodsOptions = {},
    ) {
        this.clients = statefulSet.podNames.map((_, ordinal) =>
            sandbox.etcdClient(this.clientUrl(ordinal, options.ca ? "https" : "http"), { timeoutMs: options.timeoutMs ?? 2000, tls: options.ca ? { ca: options.ca } : undefined }),
        );
    }

    /** The member's client URL as its pod advertises it: http(s)://<pod>.<headless>.<namespace>.svc.cluster.local:2379. */
    clientUrl(ordinal: number, scheme = "http"): string {
        const sts = this.statefulSet;
        return `${scheme}://${sts.podName(ordinal)}.${sts.serviceName}.${sts.namespace}.svc.cluster.local:2379`;
    }

    client(ordinal: number): EtcdClient {
        return this.clients[ordinal];
    }

    get ordinals(): number[] {
        return this.statefulSet.podNames.map((_, ordinal) => ordinal);
    }

    /** Ordinals whose pod runs. */
    running(): number[] {
        return this.ordinals.filter((ordinal) => this.sandbox.pods.some((p) => p.name === this.statefulSet.podName(ordinal) && p.running));
    }

    /**
     * Waits until the members `ordinals` (default: all) answer /health true and each lists every
     * replica as a started voting member; fails at once when one of their pods ends.
     */
    async waitHealthy(timeoutMs: number, ordinals: readonly number[] = this.ordinals): Promise<void> {
        const expected = this.statefulSet.replicas;
        await waitFor(
            `members ${ordinals.join(",")} healthy with ${expected} voting members`,
            async () => {
                for (const ordinal of ordinals) {
                    const pod = this.sandbox.pods.filter((p) => p.name === this.statefulSet.podName(ordinal)).pop();
                    if (pod?.failure) throw pod.failure;
                    if (!pod?.running) throw new Error(`pod ${this.statefulSet.podName(ordinal)} is not running`);
                    const client = this.client(ordinal);
                    if (!(await client.health())) throw new Error(`${ordinal}: /health is false`);
                    const voting = (await client.memberList()).filter((m) => !m.isLearner && m.name !== "");
                    if (voting.length !== expected) throw new Error(`${ordinal} lists ${voting.length} started voting members, want ${expected}`);
                }
                return true;
            },
            { timeoutMs },
        ).catch((error) => {
            const tails = ordinals.map((o) => `--- ${this.statefulSet.podName(o)}:\n${this.logTail(o, 6)}`);
            throw new Error(`${(error as Error).message}\nmember log tails:\n${tails.join("\n")}`, { cause: error });
        });
    }

    /** The ordinal of the member that says it leads (its status' leader is itself; the newest term wins), among `among`. */
    async leader(among: readonly number[] = this.running()): Promise<number | undefined> {
        const statuses = await Promise.allSettled(among.map(async (ordinal) => ({ ordinal, status: await this.client(ordinal).status() })));
        const leaders = statuses
            .flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))
            .filter(({ status }) => status.leader !== "0" && status.leader === status.memberId)
            .sort((a, b) => b.status.raftTerm - a.status.raftTerm);
        return leaders[0]?.ordinal;
    }

    /** Waits until some running member leads; returns it. */
    async waitLeader(timeoutMs: number): Promise<number> {
        const found = await waitFor("a leader", async () => {
            const leader = await this.leader();
            return leader === undefined ? undefined : { leader };
        }, { timeoutMs, intervalMs: 50 });
        return found.leader;
    }

    /** Waits until a member of `among` other than `former` leads; returns it. */
    newLeader(former: number, timeoutMs: number, among?: readonly number[]): Promise<number> {
        return waitFor(
            "a new leader",
            async () => {
                const leader = await this.leader(among ?? this.running().filter((o) => o !== former));
                return leader !== undefined && leader !== former ? { leader } : undefined;
            },
            { timeoutMs, intervalMs: 50 },
        ).then((found) => found.leader);
    }

    /** etcdctl in the member's own etcd container against its own client port (reaches it while its link is cut). */
    async etcdctl(ordinal: number, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number | null; output: string }> {
        const pod = this.statefulSet.pod(ordinal);
        return pod.exec("etcd", ["/usr/local/bin/etcdctl", "--endpoints=127.0.0.1:2379", ...args], timeoutMs);
    }

    /**
     * Starts every member as a first `pulumi up` does: the ConfigMaps the plan creates after the
     * StatefulSet (those that depend on it: the founded marker) exist only once every member is healthy.
     */
    async firstDeploy(plan: PlannedResources, timeoutMs: number): Promise<void> {
        const restore = this.withholdLaterConfigMaps(plan);
        await this.statefulSet.startAll();
        await this.waitHealthy(timeoutMs);
        restore();
    }

    /**
     * Takes the ConfigMaps the plan creates only after the StatefulSet (those that depend on it: the
     * founded marker) out of the sandbox, as before a first `pulumi up` got to them; returns what puts them back.
     */
    withholdLaterConfigMaps(plan: PlannedResources): () => void {
        const statefulSet = plan.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name === this.statefulSet.name);
        if (!statefulSet) throw new Error(`the plan declares no StatefulSet ${this.statefulSet.name}`);
        const later = plan.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.options.dependsOn ?? []).includes(statefulSet.urn));
        const withheld = later.map((r) => {
            const name = (r.inputs.metadata as { name: string }).name;
            const data = this.sandbox.configMaps.get(name);
            if (!data) throw new Error(`ConfigMap ${name} is not in the manifests`);
            this.sandbox.configMaps.delete(name);
            return [name, data] as const;
        });
        return () => {
            for (const [name, data] of withheld) this.sandbox.configMaps.set(name, data);
        };
    }

    /** The last `lines` lines of the member's logs (its member-join step's, then etcd's). */
    logTail(ordinal: number, lines = 20): string {
        const pod = this.sandbox.pods.filter((p) => p.name === this.statefulSet.podName(ordinal)).pop();
        const tail = (container: string) => (pod?.logs(container) ?? "").trimEnd().split("\n").slice(-lines).join("\n");
        return `${tail("member-join")}\n${tail("etcd")}`;
    }
}
