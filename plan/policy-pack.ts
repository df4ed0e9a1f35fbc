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

/** The policy pack could not be started or loaded, or did not answer. */
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

/** The analyzer service a policy pack serves: the calls the Pulumi CLI makes, in its protobuf messages. */
export interface AnalyzerService {
    getAnalyzerInfo(request: Empty): Promise<analyzer.AnalyzerInfo>;
    configure(request: analyzer.ConfigureAnalyzerRequest): Promise<unknown>;
    configureStack(request: analyzer.AnalyzerStackConfigureRequest): Promise<unknown>;
    analyze(request: analyzer.AnalyzeRequest): Promise<analyzer.AnalyzeResponse>;
    analyzeStack(request: analyzer.AnalyzeStackRequest): Promise<analyzer.AnalyzeResponse>;
}

/**
 * A policy pack driven the way the Pulumi CLI drives one during `pulumi preview --policy-pack`:
 * configured for the stack, then asked about each resource and about the whole stack. How the
 * calls reach the pack (another process over gRPC, or this one) is the service's business.
 */
export class PolicyPackClient {
    /** The pack holds one stack's configuration at a time: judgements queue behind each other. */
    private queue: Promise<unknown> = Promise.resolve();

    /** `service` may still be starting; whoever uses the pack sees why it failed. */
    constructor(private readonly service: Promise<AnalyzerService>) {
        // An unused pack must not crash the process.
        service.catch(() => undefined);
    }

    /** The pack's policies with their default enforcement levels and config schemas. */
    async info(): Promise<analyzer.AnalyzerInfo> {
        return (await this.service).getAnalyzerInfo(new Empty());
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
        const service = await this.service;
        await service.configure(request);

        const stackRequest = new analyzer.AnalyzerStackConfigureRequest();
        stackRequest.setStack(stack.stack);
        stackRequest.setProject(stack.project);
        stackRequest.setDryRun(true);
        for (const [key, value] of Object.entries(stack.tags ?? {})) {
            stackRequest.getTagsMap().set(key, value);
        }
        await service.configureStack(stackRequest);
    }

    /** Every resource on its own (`Analyze`), then the whole stack (`AnalyzeStack`), as a preview does. */
    private async analyze(resources: readonly RegisteredResource[]): Promise<PolicyViolation[]> {
        const service = await this.service;
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
            responses.push({ response: await service.analyze(request), analyzed: resource });
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
        responses.push({ response: await service.analyzeStack(stackRequest) });

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
}
