import { Manifest } from "./manifests";
import { StackPlan } from "./stack-plan";

interface WorkloadSpec {
    replicas?: number;
    template?: { spec?: { containers?: { name: string; image: string }[] } };
    volumeClaimTemplates?: { metadata?: { name?: string }; spec?: { storageClassName?: string; resources?: { requests?: { storage?: string } } } }[];
}

/** The facts of a workload a reviewer checks first: how many, which image, how much disk. */
function workloadFacts(manifest: Manifest): string[] {
    const spec = manifest.spec as WorkloadSpec | undefined;
    if (!spec?.template) {
        return [];
    }
    const facts = [`${manifest.kind} ${manifest.metadata.namespace ?? ""}/${manifest.metadata.name}:`];
    if (spec.replicas !== undefined) {
        facts.push(`    replicas: ${spec.replicas}`);
    }
    for (const container of spec.template.spec?.containers ?? []) {
        facts.push(`    image (${container.name}): ${container.image}`);
    }
    for (const claim of spec.volumeClaimTemplates ?? []) {
        facts.push(`    storage (${claim.metadata?.name}): ${claim.spec?.resources?.requests?.storage} on StorageClass ${claim.spec?.storageClassName}`);
    }
    return facts;
}

/** The plan in a few lines: every resource, the workloads' key facts, and the policy verdicts. */
export function planSummary({ stack, resources, manifests, violations }: StackPlan): string {
    const custom = resources.filter((resource) => resource.custom);
    const lines = [`Plan of stack "${stack}": ${custom.length} resources`];
    for (const resource of custom) {
        const flags = [resource.options.protect && "protected", resource.options.import && `import ${resource.options.import}`].filter(Boolean);
        lines.push(`  + ${resource.type.padEnd(52)} ${resource.name}${flags.length ? `  [${flags.join(", ")}]` : ""}`);
    }
    lines.push(...manifests.flatMap(workloadFacts));
    const mandatory = violations.filter((violation) => violation.enforcementLevel === "mandatory");
    lines.push(`Policies: ${mandatory.length} mandatory violation(s), ${violations.length - mandatory.length} advisory`);
    for (const violation of violations) {
        const target = violation.resourceName ? ` on ${violation.resourceType} ${violation.resourceName}` : "";
        lines.push(`  [${violation.enforcementLevel}] ${violation.policyName}${target}: ${violation.message.replace(/\n/g, " ")}`);
    }
    return lines.join("\n");
}
