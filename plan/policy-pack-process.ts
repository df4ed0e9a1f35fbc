import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzerService, PolicyPackClient, PolicyPackError } from "./policy-pack";

/** How long the pack may take to start: ts-node type-checks a TypeScript pack first, seconds of CPU (minutes on a busy machine). */
const START_TIMEOUT_MS = 180_000;

function call<Req, Res>(method: (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => method(request, (error, response) => (error ? reject(error) : resolve(response))));
}

/**
 * A policy pack run exactly the way the Pulumi CLI runs one: the SDK's `run-policy-pack` host loads
 * the pack's folder in a process of its own (through ts-node, which type-checks it), and the
 * analyzer protocol (gRPC) carries the resources to it and the violations back.
 */
export class PolicyPackProcess extends PolicyPackClient {
    private readonly child: ChildProcess;
    private readonly client: Promise<analyzerRpc.AnalyzerClient>;

    /** Starts the pack in `packDir`; it can be stopped at any time, also while it is starting. */
    constructor(packDir: string, env: NodeJS.ProcessEnv = {}) {
        const host = path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "cmd", "run-policy-pack");
        // The engine address is required by the host's command line; the pack itself never calls it.
        const child = spawn(process.execPath, [host, "127.0.0.1:0", "."], {
            cwd: packDir,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const client = new Promise<analyzerRpc.AnalyzerClient>((resolve, reject) => {
            let stdout = "";
            const timer = setTimeout(() => {
                child.kill("SIGKILL");
                reject(new PolicyPackError(`the policy pack in ${packDir} did not start within ${START_TIMEOUT_MS / 1000} s`));
            }, START_TIMEOUT_MS);
            child.stdout!.on("data", (chunk: Buffer) => {
                stdout += chunk.toString();
                const port = /^(\d+)\s*$/m.exec(stdout)?.[1];
                if (port) {
                    clearTimeout(timer);
                    resolve(new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
                }
            });
            child.on("exit", (code, signal) => {
                clearTimeout(timer);
                reject(new PolicyPackError(`the policy pack in ${packDir} exited (${signal ?? `status ${code}`}) before serving:\n${stderr.trim()}`));
            });
        });
        super(
            client.then(
                (connected): AnalyzerService => ({
                    getAnalyzerInfo: (request) => call(connected.getAnalyzerInfo.bind(connected), request),
                    configure: (request) => call(connected.configure.bind(connected), request),
                    configureStack: (request) => call(connected.configureStack.bind(connected), request),
                    analyze: (request) => call(connected.analyze.bind(connected), request),
                    analyzeStack: (request) => call(connected.analyzeStack.bind(connected), request),
                }),
            ),
        );
        this.child = child;
        this.client = client;
    }

    /** Stops the pack's process (by its process id), whether it is serving or still starting. */
    async stop(): Promise<void> {
        this.client.then((client) => client.close(), () => undefined);
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
            return;
        }
        const exited = new Promise((resolve) => this.child.once("exit", resolve));
        this.child.kill("SIGTERM");
        await exited;
    }
}
