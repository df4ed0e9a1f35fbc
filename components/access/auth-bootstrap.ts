import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { scheduledJobLabels, jobSpec, scheduledJobSpec } from "../scheduled-job";
import { scriptPod } from "../script-pod";
import { AUTH_BOOTSTRAP_SCRIPT } from "./auth-bootstrap-script";
import { CA_FILE, caMounts, caVolumes, EtcdClientAccess } from "./etcd-client-access";

/** An etcd role and the key prefixes it may touch. */
export interface EtcdRole {
    readonly name: string;
    readonly permissions: readonly { readonly type: "READ" | "WRITE" | "READWRITE"; readonly prefix: string }[];
}

/** An etcd user other than root: its Secret (`password`) and its roles (`root` included, where a job needs it). */
export interface EtcdUser {
    readonly name: string;
    readonly secretName: pulumi.Input<string>;
    readonly roles: readonly string[];
}

export interface AuthBootstrapArgs {
    readonly namespace: pulumi.Input<string>;
    /** Name of the Job, the CronJob and their ServiceAccount. */
    readonly name: string;
    /** An image with a POSIX shell, curl and jq (the members' image has no shell). */
    readonly image: string;
    /** When the CronJob converges the users again (after a restore brought back older ones, say). */
    readonly schedule: string;
    /** The client Service's URL. */
    readonly endpoint: pulumi.Input<string>;
    /** The CA to verify the members with; `userSecretName` is root's, whose password the bootstrap uses. */
    readonly access: EtcdClientAccess & { readonly userSecretName: pulumi.Input<string> };
    readonly roles: readonly EtcdRole[];
    readonly users: readonly EtcdUser[];
    /** Changes whenever a password does; a new value runs the Job again. */
    readonly passwordsDigest: pulumi.Input<string>;
    /**
     * The snapshot the members restore from, while a restore is configured: a restore brings back the
     * snapshot's users and passwords, so a new source (or none) runs the Job again in the same update.
     */
    readonly restoreSource?: string;
    /** The members: the Job runs once they exist. */
    readonly members: pulumi.Resource;
    readonly instanceLabels: Readonly<Record<string, string>>;
}

/** How long the bootstrap waits for the members to answer (a first start forms the cluster meanwhile). */
const WAIT_TIMEOUT_SECONDS = 300;

const base64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString("base64");

/** etcd's range end for "every key starting with `prefix`": the prefix with its last byte plus one (UTF-8 has no 0xff byte). */
export function prefixRangeEnd(prefix: string): Buffer {
    const end = Buffer.from(prefix);
    if (end.length === 0) throw new Error("an empty prefix has no range end");
    end[end.length - 1] += 1;
    return end;
}

/** The script's ROLES lines: `<role> <type> <key base64> <range end base64>`. */
export function rolesSpec(roles: readonly EtcdRole[]): string {
    return roles
        .flatMap((role) => role.permissions.map((permission) => [role.name, permission.type, base64(permission.prefix), base64(prefixRangeEnd(permission.prefix))].join(" ")))
        .join("\n");
}

/** The variable a user's password is handed over in. */
const passwordVariable = (user: string): string => `PASSWORD_${user.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

/**
 * Declares etcd's users and roles and switches authentication on (auth-bootstrap-script.ts does the
 * work, idempotently): a Job that runs after the members exist and again whenever a password
 * changes, and a CronJob that converges the same state on a schedule, which also repairs what a
 * restore from an older snapshot brought back. It authenticates as root; with root's password
 * rotated, the operator hands the old one over in `<root secret>-previous` (docs/operations.md).
 */
export class AuthBootstrap extends pulumi.ComponentResource {
    constructor(name: string, args: AuthBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:AuthBootstrap", name, {}, opts);
        const variables = new Set(args.users.map((user) => passwordVariable(user.name)));
        if (variables.size !== args.users.length || args.users.some((user) => !/^[a-z][a-z0-9-]*$/.test(user.name))) {
            throw new pulumi.ResourceError(`user names must be distinct lower-case words, got ${args.users.map((user) => user.name).join(", ")}`, this);
        }
        const labels = scheduledJobLabels(args.instanceLabels, "auth");
        const metadata = { name: args.name, namespace: args.namespace, labels };
        // No Kubernetes API token: the pods only talk to etcd.
        const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata, automountServiceAccountToken: false }, { parent: this });

        const secretValue = (name: string, secretName: pulumi.Input<string>, optional?: boolean) => ({
            name,
            valueFrom: { secretKeyRef: { name: secretName, key: "password", ...(optional ? { optional } : {}) } },
        });
        const pod = scriptPod({
            serviceAccountName: serviceAccount.metadata.name,
            name: "auth",
            image: args.image,
            script: AUTH_BOOTSTRAP_SCRIPT,
            env: [
                { name: "ENDPOINT", value: args.endpoint },
                ...(args.access.caSecretName === undefined ? [] : [{ name: "CACERT", value: CA_FILE }]),
                secretValue("ROOT_PASSWORD", args.access.userSecretName),
                // Only present while the operator rotates root's password.
                secretValue("ROOT_PREVIOUS_PASSWORD", pulumi.interpolate`${args.access.userSecretName}-previous`, true),
                { name: "ROLES", value: rolesSpec(args.roles) },
                { name: "USERS", value: args.users.map((user) => `${user.name} ${passwordVariable(user.name)} ${user.roles.join(",")}`).join("\n") },
                ...args.users.map((user) => secretValue(passwordVariable(user.name), user.secretName)),
                { name: "WAIT_TIMEOUT", value: String(WAIT_TIMEOUT_SECONDS) },
            ],
            resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } },
            volumes: caVolumes(args.access),
            volumeMounts: caMounts(args.access),
        });
        const run = { labels, activeDeadlineSeconds: WAIT_TIMEOUT_SECONDS + 300, pod };

        const once = jobSpec(run);
        new k8s.batch.v1.Job(
            name,
            {
                metadata,
                spec: {
                    ...once,
                    template: {
                        ...once.template,
                        metadata: {
                            labels,
                            annotations: {
                                "apisix-etcd/passwords-digest": args.passwordsDigest,
                                ...(args.restoreSource === undefined ? {} : { "apisix-etcd/restore-from": args.restoreSource }),
                            },
                        },
                    },
                },
            },
            // A Job's template cannot change: a new digest or restore source replaces the Job (which runs
            // it again), and its fixed name must be free first.
            { parent: this, dependsOn: [args.members], deleteBeforeReplace: true },
        );
        new k8s.batch.v1.CronJob(name, { metadata, spec: scheduledJobSpec({ ...run, schedule: args.schedule }) }, { parent: this });
        this.registerOutputs({});
    }
}
