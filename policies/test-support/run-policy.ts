import { EnforcementLevel, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

/** A violation as the analyzer would report it: the level is the violation's own where it set one. */
export interface Reported {
    readonly message: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly urn?: string;
}

export interface FakeResource {
    readonly type: string;
    readonly props: Record<string, unknown>;
    readonly name?: string;
    readonly protect?: boolean;
}

interface RunOptions {
    /** The stack's name; `prod` unless a test says otherwise. */
    readonly stack?: string;
    readonly stackTags?: Record<string, string>;
    /** Policy config, over the defaults of the policy's config schema. */
    readonly config?: Record<string, unknown>;
}

/** The URN the server gives `resource` in `stack`. */
export function urnOf(stack: string, resource: FakeResource): string {
    return `urn:pulumi:${stack}::apisix-etcd::${resource.type}::${resource.name ?? "subject"}`;
}

function configOf(policy: ResourceValidationPolicy | StackValidationPolicy, config: Record<string, unknown> = {}) {
    const properties = (policy.configSchema?.properties ?? {}) as Record<string, { default?: unknown }>;
    const defaults = Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, schema.default]));
    return { ...defaults, ...config };
}

function collector(policy: ResourceValidationPolicy | StackValidationPolicy, reported: Reported[]) {
    // Mirrors @pulumi/policy's server: a violation object may carry its own level.
    return (message: string | { message: string; urn?: string; enforcementLevel?: EnforcementLevel }, urn?: string) => {
        if (typeof message === "object") {
            reported.push({ message: message.message, urn: message.urn, enforcementLevel: message.enforcementLevel ?? policy.enforcementLevel ?? "advisory" });
        } else {
            reported.push({ message, urn, enforcementLevel: policy.enforcementLevel ?? "advisory" });
        }
    };
}

/** Runs a resource policy on one resource, as the pack's server would, and returns what it reported. */
export async function runResourcePolicy(policy: ResourceValidationPolicy, resource: FakeResource, options: RunOptions = {}): Promise<Reported[]> {
    const reported: Reported[] = [];
    const stack = options.stack ?? "prod";
    const args = {
        type: resource.type,
        props: resource.props,
        urn: urnOf(stack, resource),
        name: resource.name ?? "subject",
        opts: { protect: resource.protect ?? false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [] },
        stackTags: new Map(Object.entries(options.stackTags ?? {})),
        getConfig: () => configOf(policy, options.config),
        notApplicable: (reason?: string) => {
            throw new Error(`not applicable: ${reason}`);
        },
    } as unknown as ResourceValidationArgs;
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const validate of validations) {
        await validate?.(args, collector(policy, reported) as never);
    }
    return reported;
}

/** Runs a stack policy over a set of resources and returns what it reported. */
export async function runStackPolicy(policy: StackValidationPolicy, resources: readonly FakeResource[], options: RunOptions = {}): Promise<Reported[]> {
    const reported: Reported[] = [];
    const stack = options.stack ?? "prod";
    const policyResources = resources.map(
        (resource) =>
            ({
                type: resource.type,
                props: resource.props,
                urn: urnOf(stack, resource),
                name: resource.name ?? "subject",
                opts: { protect: resource.protect ?? false },
                dependencies: [],
                propertyDependencies: {},
            }) as unknown as PolicyResource,
    );
    const args = {
        resources: policyResources,
        stackTags: new Map(Object.entries(options.stackTags ?? {})),
        getConfig: () => configOf(policy, options.config),
        notApplicable: (reason?: string) => {
            throw new Error(`not applicable: ${reason}`);
        },
    } as unknown as StackValidationArgs;
    await policy.validateStack(args, collector(policy, reported) as never);
    return reported;
}
