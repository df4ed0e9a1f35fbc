import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CA_FILE, caMounts, caVolumes, userEnvironment } from "../access/etcd-client-access";
import { jobSpec, scheduledJobLabels } from "../scheduled-job";
import { scriptPod } from "../script-pod";
import { MemberMembershipArgs, STEP_RESOURCES } from "./member-pod";
import { SCALE_DOWN_SCRIPT } from "./membership-scripts";

export interface MemberScaleDownArgs {
    readonly namespace: pulumi.Input<string>;
    /** The StatefulSet, whose members beyond `replicas` ordinals the Job removes. */
    readonly statefulSetName: string;
    readonly replicas: number;
    /** The client Service's URL. */
    readonly endpoint: string;
    readonly membership: MemberMembershipArgs;
    readonly instanceLabels: Readonly<Record<string, string>>;
}

/**
 * A Job that removes the members beyond `replicas` from the cluster (membership-scripts.ts) before the
 * StatefulSet loses their pods: the StatefulSet depends on it, and a new `replicas` replaces it, so every
 * `pulumi up` that changes the member count runs it first. Growing needs nothing from it: new members
 * join by themselves.
 */
export class MemberScaleDown extends pulumi.ComponentResource {
    public readonly job: k8s.batch.v1.Job;

    constructor(name: string, args: MemberScaleDownArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apisix-etcd:index:MemberScaleDown", name, {}, opts);
        const labels = scheduledJobLabels(args.instanceLabels, "scale-down");
        const metadata = { name: `${args.statefulSetName}-scale-down`, namespace: args.namespace, labels };
        // No Kubernetes API token: the pod only talks to etcd.
        const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata, automountServiceAccountToken: false }, { parent: this });
        const access = args.membership.access;
        const once = jobSpec({
            labels,
            activeDeadlineSeconds: args.membership.waitTimeoutSeconds + 300,
            pod: scriptPod({
                serviceAccountName: serviceAccount.metadata.name,
                name: "scale-down",
                image: args.membership.image,
                script: SCALE_DOWN_SCRIPT,
                env: [
                    { name: "ENDPOINT", value: args.endpoint },
                    ...(access.caSecretName === undefined ? [] : [{ name: "CACERT", value: CA_FILE }]),
                    ...userEnvironment(access, { user: "MEMBERSHIP_USER", password: "MEMBERSHIP_PASSWORD" }),
                    { name: "STATEFUL_SET", value: args.statefulSetName },
                    { name: "REPLICAS", value: String(args.replicas) },
                    { name: "MARKER", value: args.membership.foundedMarkerName },
                    { name: "FOUNDED", valueFrom: { configMapKeyRef: { name: args.membership.foundedMarkerName, key: "founded", optional: true } } },
                    { name: "WAIT_TIMEOUT", value: String(args.membership.waitTimeoutSeconds) },
                ],
                resources: STEP_RESOURCES,
                volumes: caVolumes(access),
                volumeMounts: caMounts(access),
            }),
        });
        this.job = new k8s.batch.v1.Job(
            name,
            { metadata, spec: once },
            // A Job cannot change: a new replica count replaces it, and its fixed name must be free first.
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({});
    }
}
