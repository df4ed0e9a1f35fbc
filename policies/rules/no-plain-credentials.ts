import { ResourceValidationPolicy } from "@pulumi/policy";
import { environmentReport } from "../environment";
import { commandLine, Container, kindOf, Metadata, podContainers, workloadPodSpec } from "../kubernetes-objects";

type EnvVar = NonNullable<Container["env"]>[number];

const CREDENTIAL_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY/i;

/** Names that match CREDENTIAL_NAME but hold settings or file locations, not credentials. */
const NOT_CREDENTIALS = new Set(["ETCD_AUTH_TOKEN", "ETCD_AUTH_TOKEN_TTL", "ETCD_INITIAL_CLUSTER_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS"]);
const LOCATION_NAME = /_(FILE|PATH|DIR)$/i;

const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/;

/** A value written out, rather than a reference to one delivered otherwise (`$(VAR)`, a shell's `$VAR`, `$(cat ...)`). */
function isLiteral(value: string): boolean {
    return value !== "" && !/^["']?\$/.test(value);
}

/**
 * An env var's `value`, read past the policy SDK's preview proxy, which throws on values not known
 * yet: a generated password put in `value` is unknown at the first preview, and just as plain.
 */
function plainValue(variable: EnvVar): string | undefined {
    const value: unknown = Object.getOwnPropertyDescriptor(variable, "value")?.value;
    return typeof value === "string" ? value : undefined;
}

/** The password of etcd's `user:password` form; empty for a bare user name. */
function passwordOf(user: string): string {
    const colon = user.indexOf(":");
    return colon < 0 ? "" : user.slice(colon + 1);
}

function carriesCredential(variable: EnvVar): boolean {
    const value = plainValue(variable) ?? "";
    if (PEM_PRIVATE_KEY.test(value)) {
        return true;
    }
    if (variable.name === "ETCDCTL_USER") {
        return isLiteral(passwordOf(value));
    }
    return CREDENTIAL_NAME.test(variable.name) && !NOT_CREDENTIALS.has(variable.name) && !LOCATION_NAME.test(variable.name) && isLiteral(value);
}

/** What credential a command line spells out (a key, or a password given to etcdctl), if any. */
function commandLineCredential(container: Container): string | undefined {
    const line = commandLine(container);
    if (PEM_PRIVATE_KEY.test(line)) {
        return "a PEM private key";
    }
    const words = line.split(/\s+/);
    for (const [index, word] of words.entries()) {
        const option = /^--(password|user)(?:=(.*))?$/.exec(word);
        if (!option) {
            continue;
        }
        const next = words[index + 1] ?? "";
        const value = option[2] ?? (next.startsWith("-") ? "" : next);
        if (isLiteral(option[1] === "password" ? value : passwordOf(value))) {
            return `a password with --${option[1]}`;
        }
    }
    return undefined;
}

/**
 * A credential in a plain env value or on the command line is stored in the object itself: anyone
 * who may read the workload (kubectl get -o yaml, the Pulumi state, the rendered manifests) reads
 * it too. A Secret, delivered through valueFrom.secretKeyRef, keeps it behind its own RBAC.
 */
export const noPlainCredentials: ResourceValidationPolicy = {
    name: "etcd-no-plain-credentials",
    description:
        "No workload carries a credential (password, token, secret, private key, ETCDCTL_USER user:password) in a plain env value or on its command line (--password, --user name:password); it comes from a Secret through valueFrom.secretKeyRef.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const pod = workloadPodSpec(args.type, args.props);
        if (!pod) {
            return;
        }
        const workload = `${kindOf(args.type)} ${(args.props as { metadata?: Metadata }).metadata?.name ?? args.name}`;
        const report = environmentReport(args.urn, args.stackTags, reportViolation);
        for (const container of podContainers(pod)) {
            for (const variable of (container.env ?? []).filter(carriesCredential)) {
                report(`${workload}: container "${container.name}" carries a credential in the plain value of ${variable.name}; set it with valueFrom.secretKeyRef.`);
            }
            const credential = commandLineCredential(container);
            if (credential) {
                report(
                    `${workload}: container "${container.name}" passes ${credential} on its command line; ` +
                        "read it from a variable set with valueFrom.secretKeyRef (etcdctl reads ETCDCTL_USER and ETCDCTL_PASSWORD).",
                );
            }
        }
    },
};
