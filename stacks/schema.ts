import { z } from "zod";
import { cronProblem } from "./cron";
import { parseQuantity } from "../policies/kubernetes-quantity";

/**
 * The stack's configuration (keys under `apisix-etcd:` in Pulumi.<stack>.yaml) and its defaults.
 *
 * This schema checks types and formats only. Whether a well-formed value is safe for production
 * (one replica, an unpinned image, backups off ...) is judged by the policy pack in `policies/`,
 * so that a development stack can choose differently and a change made in code is caught too.
 */

const GIB = 2 ** 30;

const integer = (min: number, max: number) => {
    const error = (issue: { input?: unknown }) => `expected an integer from ${min} to ${max}, got ${JSON.stringify(issue.input)}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const quantity = z.union([z.string(), z.number()]).transform((value, ctx) => {
    const text = String(value);
    const amount = parseQuantity(text);
    // Every quantity here is a request, a limit or a size: the API server refuses negative ones.
    if (amount === undefined || amount < 0) {
        ctx.addIssue({ code: "custom", message: `expected a Kubernetes quantity such as "20Gi" or "500m", got "${text}"${amount === undefined ? "" : " (negative)"}` });
        return z.NEVER;
    }
    return text;
});

/** A quantity of bytes, handed on as a plain number since etcd does not read Kubernetes suffixes. */
const byteQuantity = (max: number, maxText: string) =>
    quantity.transform((text, ctx) => {
        const bytes = parseQuantity(text) as number;
        if (!Number.isInteger(bytes) || bytes <= 0 || bytes > max) {
            ctx.addIssue({ code: "custom", message: `expected a whole number of bytes above 0 and at most ${maxText}, got "${text}"` });
            return z.NEVER;
        }
        return bytes;
    });

const cronSchedule = z.string().superRefine((schedule, ctx) => {
    const problem = cronProblem(schedule);
    if (problem) {
        ctx.addIssue({ code: "custom", message: `expected a cron schedule: ${problem}` });
    }
});

/** RFC 1123 label: what Kubernetes accepts as a namespace or object name. */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: (issue) => `expected a lower-case DNS label (a-z, 0-9 and '-', at most 63 characters), got ${JSON.stringify(issue.input)}`,
});

/** `registry[:port]/path[:tag][@sha256:digest]`, the grammar container runtimes accept. */
// The first component is a registry only with a dot, a port or as localhost (as container runtimes read it);
// otherwise it is a path component and must be lower case.
const IMAGE_REFERENCE =
    /^(?:(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::\d+)?\/|[a-zA-Z0-9-]+:\d+\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

const imageReference = z.string().regex(IMAGE_REFERENCE, {
    error: (issue) =>
        `expected a container image reference such as "gcr.io/etcd-development/etcd:v3.5.33" (optionally @sha256:<64 hex digits>), got ${JSON.stringify(issue.input)}`,
});

/** An etcd key prefix as APISIX's `etcd.prefix` names it: a path of one or more segments, no trailing slash. */
const keyPrefix = z.string().regex(/^(\/[A-Za-z0-9._-]+)+$/, {
    error: (issue) => `expected a key prefix that is a path such as "/apisix" (segments of A-Z, a-z, 0-9, '.', '_', '-'; no trailing slash), got ${JSON.stringify(issue.input)}`,
});

/** Go duration, as etcd reads its token TTL. */
const goDuration = z.string().regex(/^(\d+(h|m|s))+$/, {
    error: (issue) => `expected a duration such as "10m" or "1h30m", got ${JSON.stringify(issue.input)}`,
    // What is not a duration has no length to compare.
    abort: true,
});

/** Seconds in a duration that {@link goDuration} accepted. */
const durationSeconds = (text: string): number =>
    [...text.matchAll(/(\d+)(h|m|s)/g)].reduce((sum, [, amount, unit]) => sum + Number(amount) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"], 0);

/**
 * APISIX's etcd client (lua-resty-etcd) renews its token every 3 to 4 minutes whatever the TTL, and does
 * not authenticate again when etcd refuses an expired token: a shorter TTL breaks its config sync.
 */
const MIN_TOKEN_TTL_SECONDS = 5 * 60;

/** DNS subdomain (RFC 1123): what Kubernetes accepts as the name of most objects, cert-manager issuers among them. */
const dnsSubdomain = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: (issue) => `expected a lower-case DNS subdomain (a-z, 0-9, '-' and '.'), got ${JSON.stringify(issue.input)}`,
});

/** GCS bucket names: 3-63 lower-case letters, digits, '-', '_' and '.', starting and ending alphanumeric. */
const GCS_BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

const gcsBucketName = z.string().regex(GCS_BUCKET_NAME, {
    error: (issue) => `expected a GCS bucket name (3-63 characters: a-z, 0-9, '-', '_', '.'), got ${JSON.stringify(issue.input)}`,
});

/** `gs://<bucket>/<object>` or `volume-snapshot:<name>`, parsed into what a restore needs of each. */
const restoreSource = z.string().transform((text, ctx) => {
    const object = /^gs:\/\/([^/]+)\/(.+)$/.exec(text);
    if (object && GCS_BUCKET_NAME.test(object[1])) {
        return { kind: "gcs" as const, url: text, bucket: object[1] };
    }
    const snapshot = /^volume-snapshot:([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(text);
    if (snapshot) {
        return { kind: "volumeSnapshot" as const, name: snapshot[1] };
    }
    ctx.addIssue({ code: "custom", message: `expected "gs://<bucket>/<object>" or "volume-snapshot:<name>", got ${JSON.stringify(text)}` });
    return z.NEVER;
});

/** Go duration ("1h", "30m", "1h30m") or a bare number of hours, as etcd's periodic compaction reads it. */
const compactionRetention = z.union([z.string(), z.number()]).transform((value, ctx) => {
    const text = String(value);
    if (!/^(\d+(\.\d+)?(h|m|s|ms))+$|^\d+$/.test(text)) {
        ctx.addIssue({ code: "custom", message: `expected a duration such as "1h" or "30m", or a number of hours, got "${text}"` });
        return z.NEVER;
    }
    return text;
});

const resourceList = z.strictObject({
    cpu: quantity.optional(),
    memory: quantity.optional(),
});

export const stackConfigSchema = z.strictObject({
    /** etcd members. Production needs an odd number of at least 3 (policy), development may run 1. */
    replicas: integer(1, 9).default(3),
    /** The etcd image; the official images are shell-less, so the pods run no scripts. */
    image: imageReference.default("gcr.io/etcd-development/etcd:v3.5.33"),
    /** Pod anti-affinity on nodes: `required` keeps two members off one node at any cost. */
    antiAffinity: z.enum(["required", "preferred"]).default("required"),
    /** Spread across zones: `preferred` still schedules in a cluster with fewer zones than members. */
    zoneSpread: z.enum(["required", "preferred"]).default("preferred"),
    storage: z
        .strictObject({
            /** Size of each member's data volume. */
            size: quantity
                .refine((text) => (parseQuantity(text) as number) > 0, { error: (issue) => `expected a size above 0, got "${issue.input}"` })
                .default("20Gi"),
            /** StorageClass of the data volumes. */
            className: dnsLabel.default("apisix-etcd-ssd"),
            /**
             * Persistent disk type of the StorageClass this stack creates. A StorageClass cannot be
             * changed in place: a new type replaces the class and applies to volumes created afterwards.
             */
            diskType: z.enum(["pd-ssd", "pd-balanced"]).default("pd-ssd"),
            /** Create the StorageClass `className`; false uses an existing class of that name as it is. */
            provision: z.boolean().default(true),
        })
        .prefault({}),
    /**
     * Requests and limits of the etcd container, given as a whole: what the file says is what the pods
     * get. Unset, they are sized from `quotaBackendBytes` (components/memory-sizing.ts: 500m CPU, and
     * the quota plus the larger of 1Gi and half the quota as memory request and limit).
     */
    resources: z.strictObject({ requests: resourceList.optional(), limits: resourceList.optional() }).optional(),
    /** etcd's backend size limit; beyond 8Gi etcd itself warns that it is untested. */
    quotaBackendBytes: byteQuantity(8 * GIB, "8Gi").prefault("4Gi"),
    autoCompaction: z
        .strictObject({
            mode: z.enum(["periodic", "revision"]).default("periodic"),
            /** For `periodic` a duration, for `revision` the number of revisions to keep. */
            retention: compactionRetention.default("1h"),
        })
        .prefault({}),
    /** DNS domain of the Kubernetes cluster, part of every member's peer URL. */
    clusterDomain: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
            error: (issue) => `expected a DNS domain such as "cluster.local", got ${JSON.stringify(issue.input)}`,
        })
        .default("cluster.local"),
    /** Namespaces whose pods may reach the client port 2379. */
    clientNamespaces: z.array(dnsLabel).default(["apisix"]),
    /**
     * etcd authentication (components/access): a `root` user, a user for APISIX that may read and write
     * only `apisixPrefix`, and users for the backup and defragmentation jobs, with generated passwords
     * delivered as Kubernetes Secrets. Tokens are JWTs signed with a key the stack generates.
     */
    auth: z
        .strictObject({
            enabled: z.boolean().default(true),
            /** The key prefix APISIX keeps its configuration under (APISIX's `deployment.etcd.prefix`). */
            apisixPrefix: keyPrefix.default("/apisix"),
            /** APISIX's namespace, where the Secret with its etcd user name and password is put. */
            apisixNamespace: dnsLabel.default("apisix"),
            /** How long a token stays valid; clients authenticate again when theirs expires. */
            tokenTtl: goDuration
                .refine((text) => durationSeconds(text) >= MIN_TOKEN_TTL_SECONDS, {
                    error: (issue) =>
                        `expected at least "5m": APISIX renews its token only every 3 to 4 minutes, got ${JSON.stringify(issue.input)}`,
                })
                .default("10m"),
            /**
             * When the users and roles are converged again besides every `pulumi up` (hourly by default):
             * repairs what a restore from an older snapshot brought back.
             */
            schedule: cronSchedule.default("29 * * * *"),
        })
        .prefault({}),
    /**
     * Certificates of the members. `self-signed`: the stack creates a CA and the members' certificate.
     * `cert-manager`: a cert-manager Certificate from `issuer`. `off`: plain http between members and
     * for clients. With TLS on, peers always authenticate each other with certificates (mutual TLS);
     * `clientTls` decides whether clients use https too (APISIX then needs the CA).
     */
    tls: z
        .strictObject({
            mode: z.enum(["off", "self-signed", "cert-manager"]).default("self-signed"),
            /** Default true with TLS on; only `false` is accepted with `mode: off`. */
            clientTls: z.boolean().optional(),
            /** `self-signed`: validity of the members' certificate; the CA lasts ten times as long. */
            validityDays: integer(30, 3650).optional(),
            /** `cert-manager`: the issuer that signs the members' certificate. */
            issuer: z
                .strictObject({
                    name: dnsSubdomain,
                    kind: z.enum(["Issuer", "ClusterIssuer"]).default("Issuer"),
                    group: dnsSubdomain.default("cert-manager.io"),
                })
                .optional(),
        })
        .superRefine((tls, ctx) => {
            const problem = (key: string, message: string) => ctx.addIssue({ code: "custom", path: [key], message });
            if (tls.mode === "cert-manager" && !tls.issuer) {
                problem("issuer", 'expected the cert-manager issuer of the members\' certificate ({ name: <issuer>, kind: Issuer or ClusterIssuer }) with mode "cert-manager"');
            }
            if (tls.mode !== "cert-manager" && tls.issuer) problem("issuer", `only read with mode "cert-manager", got mode "${tls.mode}"`);
            if (tls.mode !== "self-signed" && tls.validityDays !== undefined) problem("validityDays", `only read with mode "self-signed", got mode "${tls.mode}"`);
            if (tls.mode === "off" && tls.clientTls) problem("clientTls", 'expected false or no value with mode "off" (client TLS needs certificates)');
        })
        .transform((tls) => {
            const clients = tls.clientTls ?? true;
            switch (tls.mode) {
                case "off":
                    return { mode: tls.mode };
                case "self-signed":
                    return { mode: tls.mode, clientTls: clients, validityDays: tls.validityDays ?? 365 };
                case "cert-manager":
                    return { mode: tls.mode, clientTls: clients, issuer: tls.issuer! };
            }
        })
        .prefault({}),
    /** Protect the namespace and the StatefulSet from deletion and replacement by Pulumi. */
    protect: z.boolean().default(true),
    backup: z
        .strictObject({
            enabled: z.boolean().default(true),
            schedule: cronSchedule.default("17 */6 * * *"),
            retentionDays: integer(1, 3650).default(30),
            /** GCS location of the backup bucket (region or multi-region). */
            location: z.string().regex(/^[A-Za-z0-9-]+$/, { message: 'expected a GCS location such as "EU" or "europe-west1"' }).default("EU"),
            /** Name of the backup bucket; default `<gcp:project>-apisix-etcd-backups` (bucket names are global). */
            bucket: gcsBucketName.optional(),
            /** Image with bash, GNU coreutils and curl that uploads the verified snapshots (and downloads one to restore) through GCS's JSON API. */
            cloudSdkImage: imageReference.default("gcr.io/google.com/cloudsdktool/google-cloud-cli:562.0.0-slim"),
        })
        .prefault({}),
    snapshots: z
        .strictObject({
            enabled: z.boolean().default(true),
            schedule: cronSchedule.default("43 2 * * *"),
            keep: integer(1, 100).default(7),
            /**
             * Image with a POSIX shell, kubectl, curl and jq (alpine/k8s has them): it takes and prunes the
             * VolumeSnapshots, and runs the defragmentation and the auth bootstrap too.
             */
            kubectlImage: imageReference.default("alpine/k8s:1.34.1"),
        })
        .prefault({}),
    /**
     * Scheduled defragmentation of the members (components/defrag): one at a time, the leader last,
     * skipped while the cluster is unhealthy or a backup runs. Default: Sundays 04:37 UTC, 3 h 40 min
     * from the nearest default backup (every 6 h at :17) and 2 h from the volume snapshots.
     */
    defrag: z
        .strictObject({
            enabled: z.boolean().default(true),
            schedule: cronSchedule.default("37 4 * * 0"),
        })
        .prefault({}),
    /**
     * Scraping the members and alerting on them (components/monitoring/alert-rules.ts has the alerts
     * and their thresholds). `gmp`: GKE's managed Prometheus (PodMonitoring, Rules). `prometheus-operator`:
     * a Prometheus run by the Prometheus Operator (PodMonitor, PrometheusRule); set `namespace` to its
     * namespace and `labels` to what it selects PodMonitors and PrometheusRules by.
     */
    monitoring: z
        .strictObject({
            enabled: z.boolean().default(true),
            flavor: z.enum(["gmp", "prometheus-operator"]).default("gmp"),
            /**
             * `prometheus-operator` only: the namespace of the Prometheus, the one allowed to scrape port 2381.
             * GKE's managed collection has namespaces of its own (gmp-system, gke-gmp-system on Autopilot).
             */
            namespace: dnsLabel.optional(),
            /**
             * `gmp` only (and required there): the GKE cluster's name, as Google Cloud labels the cluster's logs and
             * metrics. The alerts on volumes and CronJobs are Cloud Monitoring alert policies that select by it.
             */
            cluster: z
                .string()
                .regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, {
                    error: (issue) => `expected a GKE cluster name (a-z, 0-9 and '-', starting with a letter, at most 40 characters), got ${JSON.stringify(issue.input)}`,
                })
                .optional(),
            /**
             * `gmp` only: the Cloud Monitoring notification channels (`projects/<project>/notificationChannels/<id>`)
             * the alert policies notify; none, and they only show in the console (policy etcd-alerts-notify).
             */
            notificationChannels: z
                .array(
                    z.string().regex(/^projects\/[^/\s]+\/notificationChannels\/[^/\s]+$/, {
                        error: (issue) => `expected a notification channel's name, projects/<project>/notificationChannels/<id>, got ${JSON.stringify(issue.input)}`,
                    }),
                )
                .default([]),
            /** Where alerts link to docs/runbooks.md (each alert to its section): best a URL your on-call can open. */
            runbookBaseUrl: z
                .string()
                .regex(/^[^\s#]+$/, { error: (issue) => `expected a URL without spaces or a #fragment, got ${JSON.stringify(issue.input)}` })
                .default("docs/runbooks.md"),
            /** Labels added to the scrape configuration and the rules, e.g. `release: kube-prometheus-stack`. */
            labels: z.record(z.string(), z.string()).default({}),
        })
        .superRefine((monitoring, ctx) => {
            const problem = (message: string) => ctx.addIssue({ code: "custom", path: ["namespace"], message });
            if (monitoring.flavor === "prometheus-operator" && monitoring.enabled && monitoring.namespace === undefined) {
                problem('expected the namespace of the Prometheus that scrapes the members with flavor "prometheus-operator"');
            }
            if (monitoring.flavor === "gmp" && monitoring.enabled && monitoring.cluster === undefined) {
                ctx.addIssue({
                    code: "custom",
                    path: ["cluster"],
                    message: 'expected the GKE cluster\'s name with flavor "gmp": the alerts on volumes and CronJobs are Cloud Monitoring alert policies that select by it',
                });
            }
            if (monitoring.flavor !== "gmp" && monitoring.notificationChannels.length > 0) {
                ctx.addIssue({ code: "custom", path: ["notificationChannels"], message: 'only read with flavor "gmp" (a Prometheus Operator\'s Alertmanager routes its own alerts)' });
            }
            if (monitoring.flavor !== "gmp" && monitoring.cluster !== undefined) {
                ctx.addIssue({ code: "custom", path: ["cluster"], message: 'only read with flavor "gmp"' });
            }
            if (monitoring.flavor === "gmp" && monitoring.namespace !== undefined) {
                problem('only read with flavor "prometheus-operator" (GKE\'s managed collection runs in gmp-system, or gke-gmp-system on Autopilot)');
            }
        })
        .prefault({}),
    migration: z
        .strictObject({
            /**
             * The in-place migration from the Bitnami StatefulSet (docs/migration.md): member 0 takes over
             * its claim `data-<name>-0` and the data there; the cluster counts as founded from the start.
             */
            fromBitnami: z.boolean().default(false),
        })
        .prefault({}),
    /**
     * Set only to recover from lost data (docs/restore.md): every member whose data dir is empty
     * restores itself from this snapshot before etcd starts. Remove it once the cluster is healthy.
     */
    restore: z
        .strictObject({
            /** `gs://<bucket>/<object>` (a backup) or `volume-snapshot:<name>` (a CSI snapshot of a member in `etcd`). */
            from: restoreSource,
            /**
             * Added to the snapshot's revision, so that clients watching from a revision they saw
             * before the loss (APISIX) are told their revision was compacted and read everything anew.
             * 0 keeps the revision as it was.
             */
            revisionBump: integer(0, 1e15).default(1_000_000_000),
        })
        .optional(),
});

/** The stack's configuration after validation, with every default applied. */
export type StackConfig = z.output<typeof stackConfigSchema>;
