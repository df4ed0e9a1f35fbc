// The sandbox's own network and mount namespace: created by `unshare -m -n` around a small agent
// (namespace-agent.js), with a Linux bridge on 198.18.0.1 and a tmpfs on /run for `ip netns`. Nothing
// in it is visible on the machine: its links, addresses and mounts vanish with the agent. The test
// reaches addresses inside through the agent's Unix socket (dial), runs commands inside with nsenter
// (run), and asks the agent for Service proxies and stand-in server addresses (listen).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import * as readline from "node:readline";
import { registerProcessGroup } from "../etcd/process-reaper";

/** The bridge's name and address inside the sandbox; the pods' default route points to nothing beyond it. */
export const BRIDGE = "sbx0";
export const BRIDGE_ADDRESS = "198.18.0.1";
/** A locally administered MAC address (the 02 bit), fixed for the bridge. */
const BRIDGE_MAC = "02:00:c6:12:00:01";
/** Every address of the sandbox lies in this range (RFC 2544's benchmarking range), never elsewhere. */
export const SANDBOX_PREFIX_LENGTH = 15;

const COMMAND_TIMEOUT_MS = 10_000;
const AGENT_START_TIMEOUT_MS = 10_000;

/** Why the machine cannot host a sandbox, or undefined when it can (checked once per process). */
let capability: string | undefined | null = null;
export function namespaceSupport(): string | undefined {
    if (capability === null) {
        const probe = spawnSync("unshare", ["-m", "-n", "sh", "-c", "ip link set lo up && mount -t tmpfs none /run"], { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS });
        capability =
            probe.status === 0
                ? undefined
                : `this machine cannot make the pod sandbox's namespaces (\`unshare -m -n\` with ip and mount inside: ${
                      probe.error?.message ?? (probe.stderr.trim() || `exit ${probe.status}`)
                  }); the pod sandbox needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and util-linux and iproute2`;
    }
    return capability;
}

export class OuterNamespace {
    /** The agent's pid: `nsenter -t <pid> -m -n` enters the namespace. */
    readonly pid: number;
    private readonly forwardSocket: string;
    private readonly agent: ChildProcessWithoutNullStreams;
    private readonly unregister: () => void;
    private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
    private seq = 0;
    private closed = false;

    private constructor(agent: ChildProcessWithoutNullStreams, forwardSocket: string) {
        this.agent = agent;
        this.pid = agent.pid!;
        this.forwardSocket = forwardSocket;
        this.unregister = registerProcessGroup(this.pid);
    }

    /** Creates the namespace (agent sockets in `dir`), its bridge and its /run; throws with the reason when the machine cannot. */
    static async open(dir: string): Promise<OuterNamespace> {
        const unsupported = namespaceSupport();
        if (unsupported) throw new Error(unsupported);
        const forwardSocket = path.join(dir, "agent.sock");
        const agent = spawn("unshare", ["-m", "-n", "--propagation", "private", process.execPath, path.join(__dirname, "namespace-agent.js"), forwardSocket], {
            detached: true,
            stdio: ["pipe", "pipe", "pipe"],
        });
        if (agent.pid === undefined) throw new Error("could not spawn unshare for the pod sandbox");
        const outer = new OuterNamespace(agent, forwardSocket);
        let stderr = "";
        agent.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const lines = readline.createInterface({ input: agent.stdout });
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the sandbox agent did not start within ${AGENT_START_TIMEOUT_MS} ms: ${stderr}`)), AGENT_START_TIMEOUT_MS);
            agent.once("exit", (code, signal) => reject(new Error(`the sandbox agent exited (${code ?? signal}): ${stderr}`)));
            lines.once("line", () => {
                clearTimeout(timer);
                resolve();
            });
        }).catch(async (error) => {
            await outer.close();
            throw error;
        });
        lines.on("line", (line) => outer.answer(line));
        agent.once("exit", () => {
            for (const { reject } of outer.pending.values()) reject(new Error(`the sandbox agent exited: ${stderr}`));
            outer.pending.clear();
        });
        try {
            // The bridge gets a MAC of its own: one it took from its ports would change when the pod holding the
            // lowest one goes or a lower one comes, and the pods' ARP entries for the bridge's addresses (the
            // Services') would point nowhere until they expire (about 30 s without an answer from a Service).
            await outer.run(["sh", "-c", `set -e; ip link set lo up; mount -t tmpfs -o mode=0755 sandbox-run /run; ip link add ${BRIDGE} address ${BRIDGE_MAC} type bridge; ip addr add ${BRIDGE_ADDRESS}/${SANDBOX_PREFIX_LENGTH} dev ${BRIDGE}; ip link set ${BRIDGE} up`]);
        } catch (error) {
            await outer.close();
            throw error;
        }
        return outer;
    }

    /** Runs `args` inside the namespace (as root, in its mount namespace); bounded; throws on a non-zero exit with its output. */
    async run(args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
        const child = spawn("nsenter", ["-t", String(this.pid), "-m", "-n", "--", ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
            child.once("error", () => resolve([null, null]));
            child.once("close", (c, s) => resolve([c, s]));
        });
        clearTimeout(timer);
        if (code !== 0) throw new Error(`in the sandbox: ${args.join(" ")}: ${signal ? `killed (${signal}, after ${timeoutMs} ms?)` : `exit ${code}`}: ${out.trim()}`);
        return out;
    }

    /** The argv that runs a command inside the namespace (for processes the caller supervises itself). */
    enter(args: readonly string[]): string[] {
        return ["nsenter", "-t", String(this.pid), "-m", "-n", "--", ...args];
    }

    /** A TCP connection from the test to `address:port` inside the sandbox (through the agent). */
    dial(address: string, port: number): net.Socket {
        const socket = net.connect({ path: this.forwardSocket });
        socket.write(`${address} ${port}\n`);
        return socket;
    }

    /**
     * Listens on `address:port` inside the sandbox (the address must be on the bridge: addAddress):
     * as a Service proxy (setEndpoints) or, with `socket`, joined to a Unix socket the test listens on.
     */
    async listen(id: string, address: string, port: number, socket?: string): Promise<void> {
        await this.command({ op: "listen", id, address, port, socket });
    }

    /** Where new connections to the listener `id` go. */
    async setEndpoints(id: string, endpoints: readonly { address: string; port: number }[]): Promise<void> {
        await this.command({ op: "endpoints", id, endpoints });
    }

    /** Puts `address` on the bridge, so that pods reach it (a Service or stand-in server address). */
    async addAddress(address: string): Promise<void> {
        await this.run(["ip", "addr", "add", `${address}/32`, "dev", BRIDGE]);
    }

    /** Ends the agent (and with it the namespace); idempotent. Pods must be gone first. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        if (this.agent.exitCode === null && this.agent.signalCode === null) {
            const exited = new Promise<void>((resolve) => this.agent.once("exit", () => resolve()));
            process.kill(this.pid, "SIGKILL");
            await exited;
        }
        this.unregister();
    }

    private command(command: Record<string, unknown>): Promise<void> {
        const seq = ++this.seq;
        return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(seq);
                reject(new Error(`the sandbox agent did not answer ${JSON.stringify(command)} within ${COMMAND_TIMEOUT_MS} ms`));
            }, COMMAND_TIMEOUT_MS);
            this.pending.set(seq, {
                resolve: () => (clearTimeout(timer), resolve()),
                reject: (error) => (clearTimeout(timer), reject(error)),
            });
            this.agent.stdin.write(`${JSON.stringify({ ...command, seq })}\n`);
        });
    }

    private answer(line: string): void {
        const reply = JSON.parse(line) as { seq?: number; ok?: boolean; error?: string };
        const waiting = reply.seq === undefined ? undefined : this.pending.get(reply.seq);
        if (!waiting) return;
        this.pending.delete(reply.seq!);
        if (reply.ok) waiting.resolve();
        else waiting.reject(new Error(`sandbox agent: ${reply.error}`));
    }
}
