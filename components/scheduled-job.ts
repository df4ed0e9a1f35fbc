import * as k8s from "@pulumi/kubernetes";
import { restrictedPodSecurityContext } from "./security-context";

export interface ScheduledJobArgs {
    /** Cron schedule, read in UTC. */
    readonly schedule: string;
    /** Labels of each Job and of its pod. */
    readonly labels: Readonly<Record<string, string>>;
    /** How long one run, all its attempts together, may take before Kubernetes stops it as failed. */
    readonly activeDeadlineSeconds: number;
    /** The pod of each run; the restart policy and the pod's security context are set here. */
    readonly pod: k8s.types.input.core.v1.PodSpec;
}

/**
 * Labels of a scheduled job's objects and pods: the stack's instance labels (which, among other
 * things, let a pod through the members' NetworkPolicy) and what the job is.
 */
export function scheduledJobLabels(instanceLabels: Readonly<Record<string, string>>, component: string): Record<string, string> {
    return {
        ...instanceLabels,
        "app.kubernetes.io/name": `etcd-${component}`,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** One run: a bounded number of attempts within a deadline, the pod under the restricted security context. */
export function jobSpec(args: Omit<ScheduledJobArgs, "schedule">): k8s.types.input.batch.v1.JobSpec {
    return {
        backoffLimit: 2,
        activeDeadlineSeconds: args.activeDeadlineSeconds,
        template: {
            metadata: { labels: args.labels },
            spec: { restartPolicy: "Never", securityContext: restrictedPodSecurityContext, ...args.pod },
        },
    };
}

/** How the stack's scheduled jobs run: one at a time, a bounded number of attempts, history kept for diagnosis. */
export function scheduledJobSpec(args: ScheduledJobArgs): k8s.types.input.batch.v1.CronJobSpec {
    return {
        schedule: args.schedule,
        timeZone: "Etc/UTC",
        // A run still going when the next one is due is stuck; a second one would only compete with it.
        concurrencyPolicy: "Forbid",
        // A run missed by more than an hour (controller down) is skipped; the next one comes on schedule.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        // Failed runs are kept longer: their pods' logs say why.
        failedJobsHistoryLimit: 5,
        jobTemplate: { metadata: { labels: args.labels }, spec: jobSpec(args) },
    };
}
