import { StackValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { etcdSettings, etcdStatefulSets } from "../etcd-members";
import { commandLine, Container, kindOf, Metadata, podContainers, workloadPodSpec } from "../kubernetes-objects";

const REMEDIATION = "set apisix-etcd:auth.enabled: true.";

/** Why an `--auth-token` setting is not a JWT one with both keys, or undefined when it is. */
function tokenProblem(setting: string | undefined): string | undefined {
    if (setting === undefined || setting === "") {
        return "--auth-token is unset, so the members issue simple tokens";
    }
    const [kind, ...options] = setting.split(",");
    if (kind !== "jwt") {
        return `--auth-token is "${kind}", not jwt`;
    }
    const keys = new Map(options.map((option) => option.split("=", 2) as [string, string | undefined]));
    const missing = ["pub-key", "priv-key"].filter((key) => !keys.get(key));
    return missing.length > 0 ? `--auth-token is jwt without ${missing.join(" and ")}` : undefined;
}

/**
 * Whether a container switches authentication on: with etcdctl, or through the JSON gateway, whose
 * path (/v3/auth/enable) a script may assemble from a base URL and `auth/enable`.
 */
function enablesAuth(container: Container): boolean {
    return /\bauth\/enable\b|\betcdctl\b.*\bauth\s+enable\b/.test(commandLine(container));
}

/**
 * Without authentication, anything that reaches the client port reads and writes every key: all of
 * APISIX's routes, upstreams and plugin settings. etcd's default simple tokens live in the memory of
 * the member that issued them, so the other members refuse them and a restart drops them all; JWTs
 * signed with a shared key are valid on every member. etcd starts with authentication off: a Job
 * (or CronJob) of the members' namespace has to create the users and switch it on.
 */
export const memberAuthentication: StackValidationPolicy = {
    name: "etcd-member-authentication",
    description:
        "The etcd members issue JWT auth tokens (--auth-token jwt with pub-key and priv-key), and a Job or CronJob in their namespace enables authentication (the JSON gateway's /v3/auth/enable, or etcdctl auth enable).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const member of etcdStatefulSets(args.resources)) {
            const namespace = member.props.metadata?.namespace;
            const report = environmentReport(member.urn, args.stackTags, reportViolation);
            const problem = tokenProblem(etcdSettings(member.props, args.resources).get("auth-token"));
            if (problem) {
                report(`${problem}: a token from one member is refused by the others and none survives a restart; ${REMEDIATION}`, member.urn);
            }
            const bootstrapped = args.resources.some(
                (resource) =>
                    ["Job", "CronJob"].includes(kindOf(resource.type)) &&
                    (resource.props as { metadata?: Metadata }).metadata?.namespace === namespace &&
                    podContainers(workloadPodSpec(resource.type, resource.props)).some(enablesAuth),
            );
            if (!bootstrapped) {
                report(
                    `no Job or CronJob in namespace ${namespace} enables authentication (/v3/auth/enable or etcdctl auth enable), so every client may read and write every key; ${REMEDIATION}`,
                    member.urn,
                );
            }
        }
    },
};
