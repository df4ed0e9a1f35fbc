import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { RegisteredResource } from "./recording-monitor";

export type EnforcementLevel = "advisory" | "mandatory" | "remediate" | "disabled";

/** One policy's verdict on one resource (or on the whole stack). */
export interface PolicyViolation {
    readonly policyName: string;
    readonly policyPackName: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
    readonly urn?: string;
    readonly resourceType?: string;
    readonly resourceName?: string;
}

/** The stack a pack judges, as the CLI names it to the pack. */
export interface StackIdentity {
    readonly stack: string;
    readonly project: string;
    /** Stack tags, e.g. `environment=production`. */
    readonly tags?: Readonly<Record<string, string>>;
}

/** Per-policy configuration, as given to `pulumi preview --policy-pack-config`. */
export type PolicyPackConfig = Record<string, { enforcementLevel?: EnforcementLevel; [property: string]: unknown }>;

/** The policy pack could not be started or did not answer. */
export class PolicyPackError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyPackError";
    }
}

const LEVELS: Record<number, EnforcementLevel> = {
    [analyzer.EnforcementLevel.ADVISORY]: "advisory",
    [analyzer.EnforcementLevel.MANDATORY]: "mandatory",
    [analyzer.EnforcementLevel.REMEDIATE]: "remediate",
    [analyzer.EnforcementLevel.DISABLED]: "disabled",
};
const LEVEL_CODES = Object.fromEntries(Object.entries(LEVELS).map(([code, level]) => [level, Number(code)])) as Record<EnforcementLevel, number>;

/** How long the pack may take to start: a TypeScript pack is type-checked by ts-node first. */
const START_TIMEOUT_MS = 60_000;

function call<Req, Res>(method: (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => method(request, (error, response) => (error ? reject(error) : resolve(response))));
}

/**
 * A policy pack run the way the Pulumi CLI runs one: the SDK's `run-policy-pack` host loads the
 * pack's folder in a process of its own, and the analyzer protocol (gRPC) carries the resources to
 * it and the violations back.
 */
export class PolicyPackProcess {
    /** The pack holds one stack's configuration at a time: judgements queue behind each other. */
    private queue: Promise<unknown> = Promise.resolve();
    /** Connected once the pack serves; a TypeScript pack is type-checked by ts-node first. */
    private readonly client: Promise<analyzerRpc.AnalyzerClient>;
    private readonly child: ChildProcess;

    /** Starts the pack in `packDir`; it can be stopped at any time, also while it is starting. */
    constructor(packDir: string, env: NodeJS.ProcessEnv = {}) {
        const host = path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "cmd", "run-policy-pack");
        // The engine address is required by the host's command line; the pack itself never calls it.
        this.child = spawn(process.execPath, [host, "127.0.0.1:0", "."], {
            cwd: packDir,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        this.child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        this.client = new Promise<analyzerRpc.AnalyzerClient>((resolve, reject) => {
            let stdout = "";
            const timer = setTimeout(() => {
                this.child.kill("SIGKILL");
                reject(new PolicyPackError(`the policy pack in ${packDir} did not start within ${START_TIMEOUT_MS / 1000} s`));
            }, START_TIMEOUT_MS);
            this.child.stdout!.on("data", (chunk: Buffer) => {
                stdout += chunk.toString();
                const port = /^(\d+)\s*$/m.exec(stdout)?.[1];
                if (port) {
                    clearTimeout(timer);
                    resolve(new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
                }
            });
            this.child.on("exit", (code, signal) => {
                clearTimeout(timer);
                reject(new PolicyPackError(`the policy pack in ${packDir} exited (${signal ?? `status ${code}`}) before serving:\n${stderr.trim()}`));
            });
        });
        // Whoever uses the pack sees why it failed; an unused pack must not crash the process.
        this.client.catch(() => undefined);
    }

    /** The pack's policies with their default enforcement levels and config schemas. */
    async info(): Promise<analyzer.AnalyzerInfo> {
        const client = await this.client;
        return call(client.getAnalyzerInfo.bind(client), new Empty());
    }

    /**
     * Configures the pack as the CLI does: per-policy config, with the defaults of each policy's
     * config schema filled in (the CLI does that, not the pack), then the stack it will judge.
     */
    private async configure(stack: StackIdentity, config: PolicyPackConfig): Promise<void> {
        const info = await this.info();
        const request = new analyzer.ConfigureAnalyzerRequest();
        const unknown = Object.keys(config).filter((name) => !info.getPoliciesList().some((policy) => policy.getName() === name));
        if (unknown.length > 0) {
            throw new PolicyPackError(`policy pack config names unknown policies: ${unknown.join(", ")}`);
        }
        for (const policy of info.getPoliciesList()) {
            const schema = (policy.getConfigschema()?.getProperties()?.toJavaScript() ?? {}) as Record<string, { default?: unknown }>;
            const defaults = Object.fromEntries(Object.entries(schema).filter(([, property]) => property.default !== undefined).map(([key, property]) => [key, property.default]));
            const { enforcementLevel, ...properties } = config[policy.getName()] ?? {};
            const policyConfig = new analyzer.PolicyConfig();
            policyConfig.setEnforcementlevel(enforcementLevel ? LEVEL_CODES[enforcementLevel] : policy.getEnforcementlevel());
            policyConfig.setProperties(Struct.fromJavaScript({ ...defaults, ...properties } as Record<string, never>));
            request.getPolicyconfigMap().set(policy.getName(), policyConfig);
        }
        const client = await this.client;
        await call(client.configure.bind(client), request);

        const stackRequest = new analyzer.AnalyzerStackConfigureRequest();
        stackRequest.setStack(stack.stack);
        stackRequest.setProject(stack.project);
        stackRequest.setDryRun(true);
        for (const [key, value] of Object.entries(stack.tags ?? {})) {
            stackRequest.getTagsMap().set(key, value);
        }
        await call(client.configureStack.bind(client), stackRequest);
    }

    /** Every resource on its own (`Analyze`), then the whole stack (`AnalyzeStack`), as a preview does. */
    private async analyze(resources: readonly RegisteredResource[]): Promise<PolicyViolation[]> {
        const client = await this.client;
        const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
        const options = (resource: RegisteredResource) => {
            const result = new analyzer.AnalyzerResourceOptions();
            result.setProtect(resource.options.protect);
            result.setIgnorechangesList(resource.options.ignoreChanges);
            result.setDeletebeforereplace(resource.options.deleteBeforeReplace);
            result.setParent(resource.parent);
            return result;
        };
        // With the resource analyzed: a resource policy's diagnostic carries no URN of its own.
        const responses: { response: analyzer.AnalyzeResponse; analyzed?: RegisteredResource }[] = [];
        for (const resource of resources) {
            const request = new analyzer.AnalyzeRequest();
            request.setType(resource.type);
            request.setName(resource.name);
            request.setUrn(resource.urn);
            request.setProperties(Struct.fromJavaScript(resource.inputs as Record<string, never>));
            request.setOptions(options(resource));
            responses.push({ response: await call(client.analyze.bind(client), request), analyzed: resource });
        }
        const stackRequest = new analyzer.AnalyzeStackRequest();
        stackRequest.setResourcesList(
            resources.map((resource) => {
                const item = new analyzer.AnalyzerResource();
                item.setType(resource.type);
                item.setName(resource.name);
                item.setUrn(resource.urn);
                item.setParent(resource.parent);
                item.setDependenciesList(resource.options.dependsOn);
                item.setProperties(Struct.fromJavaScript(resource.inputs as Record<string, never>));
                item.setOptions(options(resource));
                return item;
            }),
        );
        responses.push({ response: await call(client.analyzeStack.bind(client), stackRequest) });

        return responses.flatMap(({ response, analyzed }) =>
            response.getDiagnosticsList().map((diagnostic) => {
                const urn = diagnostic.getUrn() || analyzed?.urn;
                const resource = urn === undefined ? undefined : byUrn.get(urn);
                return {
                    policyName: diagnostic.getPolicyname(),
                    policyPackName: diagnostic.getPolicypackname(),
                    enforcementLevel: LEVELS[diagnostic.getEnforcementlevel()],
                    message: diagnostic.getMessage(),
                    urn,
                    resourceType: resource?.type,
                    resourceName: resource?.name,
                };
            }),
        );
    }

    /** Configures the pack for a stack and analyzes its resources, one stack at a time. */
    judge(stack: StackIdentity, config: PolicyPackConfig, resources: readonly RegisteredResource[]): Promise<PolicyViolation[]> {
        const verdict = this.queue.then(async () => {
            await this.configure(stack, config);
            return this.analyze(resources);
        });
        this.queue = verdict.catch(() => undefined);
        return verdict;
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
