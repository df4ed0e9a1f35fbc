// The service modules alone: the package index would make tsc read the whole provider (860k lines of typings).
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";

export interface BucketWorkloadIdentityArgs {
    /** GCP project of the Google service account and of the GKE cluster's workload identity pool. */
    readonly project: string;
    /** The Google service account's id (6-30 characters), unique in the project. */
    readonly accountId: string;
    /** What the account is for, as shown in the console. */
    readonly description: string;
    /** The bucket the account gets its one role on. */
    readonly bucket: pulumi.Input<string>;
    /** That role, e.g. `roles/storage.objectCreator`. */
    readonly role: string;
    /** The Kubernetes ServiceAccount that acts as the Google service account. */
    readonly kubernetesServiceAccount: { readonly namespace: string; readonly name: string };
}

/** What GKE reads on a Kubernetes ServiceAccount to hand its pods the Google service account's tokens. */
const WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account";

/**
 * A Google identity for pods, with one role on one bucket and no key: pods running as the given
 * Kubernetes ServiceAccount get short-lived tokens of a Google service account through GKE Workload
 * Identity, once that ServiceAccount carries {@link serviceAccountAnnotations}.
 */
export class BucketWorkloadIdentity extends pulumi.ComponentResource {
    /** The Google service account's e-mail. */
    public readonly email: pulumi.Output<string>;
    /** Annotations that bind the Kubernetes ServiceAccount to the Google service account. */
    public readonly serviceAccountAnnotations: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: BucketWorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:BucketWorkloadIdentity", name, {}, opts);
        if (!/^[a-z]([-a-z0-9]{4,28}[a-z0-9])$/.test(args.accountId)) {
            throw new pulumi.ResourceError(`accountId must be 6-30 characters of a-z, 0-9 and '-', starting with a letter, got "${args.accountId}"`, this);
        }
        const account = new serviceaccount.Account(
            name,
            { project: args.project, accountId: args.accountId, displayName: args.accountId, description: args.description },
            { parent: this },
        );
        // Spelled from the account's own outputs (as GCP forms them) rather than read from `email` and
        // `name`, so that the offline plan, whose mocks only echo inputs, shows the real values too.
        this.email = pulumi.interpolate`${account.accountId}@${account.project}.iam.gserviceaccount.com`;
        const accountName = pulumi.interpolate`projects/${account.project}/serviceAccounts/${this.email}`;

        new storage.BucketIAMMember(
            name,
            { bucket: args.bucket, role: args.role, member: pulumi.interpolate`serviceAccount:${this.email}` },
            { parent: this },
        );
        const { namespace, name: kubernetesName } = args.kubernetesServiceAccount;
        new serviceaccount.IAMMember(
            `${name}-workload-identity`,
            {
                serviceAccountId: accountName,
                role: "roles/iam.workloadIdentityUser",
                member: `serviceAccount:${args.project}.svc.id.goog[${namespace}/${kubernetesName}]`,
            },
            { parent: this },
        );

        this.serviceAccountAnnotations = this.email.apply((email): Record<string, string> => ({ [WORKLOAD_IDENTITY_ANNOTATION]: email }));
        this.registerOutputs({ email: this.email });
    }
}
