import { ResourceValidationPolicy } from "@pulumi/policy";

const ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy";

/**
 * An alert policy without notification channels opens incidents in the console that nobody is told of:
 * a stale backup or a member that never started would go unseen. Advice, since the channels (e-mail,
 * PagerDuty, ...) are made outside the stack (apisix-etcd:monitoring.notificationChannels names them).
 */
export const alertsNotify: ResourceValidationPolicy = {
    name: "etcd-alerts-notify",
    description: "Every Cloud Monitoring alert policy of the stack notifies at least one notification channel.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        if (args.type !== ALERT_POLICY) {
            return;
        }
        const channels: unknown = args.props.notificationChannels;
        if (!Array.isArray(channels) || channels.length === 0) {
            reportViolation(`alert policy "${args.props.displayName}" notifies nobody: set apisix-etcd:monitoring.notificationChannels to the channels your on-call reads.`);
        }
    },
};
