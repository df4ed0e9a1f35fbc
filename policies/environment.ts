import { ReportViolation } from "@pulumi/policy";

/**
 * Which stacks are production. A stack is production when its name is one of these, or when its
 * owners tagged it `environment=production` (`pulumi stack tag set environment production`). The
 * stack's own application config cannot make a production stack anything else.
 */
export const PRODUCTION_STACKS: readonly string[] = ["prod", "production"];

/** The stack a resource belongs to: URNs read `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOf(urn: string): string {
    return urn.split("::")[0].replace(/^urn:pulumi:/, "");
}

export function isProduction(urn: string, stackTags: ReadonlyMap<string, string>): boolean {
    return PRODUCTION_STACKS.includes(stackOf(urn)) || stackTags.get("environment") === "production";
}

/**
 * Reports with the policy's configured level in production, and as advice elsewhere: the same rule
 * keeps `prod` safe while letting `dev` run one member with a warning.
 */
export function environmentReport(urn: string, stackTags: ReadonlyMap<string, string>, report: ReportViolation): (message: string, violationUrn?: string) => void {
    if (isProduction(urn, stackTags)) {
        return (message, violationUrn) => report(message, violationUrn);
    }
    return (message, violationUrn) => report({ message: `${message} (advisory outside production)`, urn: violationUrn, enforcementLevel: "advisory" } as never);
}
