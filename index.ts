import * as pulumi from "@pulumi/pulumi";
import {
    AuthBootstrap,
    BackupBucket,
    BackupCronJob,
    BucketWorkloadIdentity,
    collectorPods,
    EtcdCluster,
    EtcdCredentials,
    EtcdDefragmentation,
    EtcdMonitoring,
    userSecretName,
    longestScheduleIntervalSeconds,
    MemberCertificates,
    MemberStorageClass,
    PdVolumeSnapshotClass,
    restoreSourceId,
    ScheduledVolumeSnapshots,
} from "./components";
import { MEMBERS_LINE } from "./components/etcd/membership-scripts";
import { loadStackConfig } from "./stacks/load";

/**
 * The APISIX etcd stack. Reads the stack's configuration once, then builds the components from it.
 * The names below are the ones APISIX and today's deployment use: `http://apisix-etcd.etcd.svc...`.
 */
const config = loadStackConfig(pulumi.runtime.allConfig());

const NAMESPACE = "etcd";
/** The StatefulSet, the client Service and the members' ServiceAccount. */
const NAME = "apisix-etcd";
/** Folder of the backups in the bucket: `etcd/<yyyy>/apisix-etcd-<yyyymmddTHHMMSSZ>.db`. */
const BACKUP_PREFIX = "etcd";
/** The backup CronJob, whose successes the backup alert watches. */
const BACKUP_CRON_JOB = `${NAME}-backup`;
/** The auth bootstrap's Job, CronJob and ServiceAccount; the auth alert watches the CronJob's successes. */
const AUTH_CRON_JOB = `${NAME}-auth`;
/** The Secret in APISIX's namespace with its etcd host, prefix, user name, password (and CA). */
const APISIX_SECRET = `${NAME}-credentials`;
/** etcd users: APISIX's, and one per job that talks to etcd (the volume snapshots do not). */
const APISIX_USER = "apisix";
const BACKUP_USER = "backup";
const DEFRAG_USER = "defrag";
/** The members' own user, for the membership steps that add, promote and remove members. */
const MEMBERSHIP_USER = "membership";

/** The gcp provider's own `gcp:project`; only backups and restores from GCS need it. */
const gcpProject = (): string => new pulumi.Config("gcp").require("project");

const storageClassName = config.storage.provision
    ? new MemberStorageClass(`${NAME}-storage`, { name: config.storage.className, diskType: config.storage.diskType }).name
    : config.storage.className;

const restoreReader =
    config.restore?.from.kind === "gcs"
        ? new BucketWorkloadIdentity(`${NAME}-restore-reader`, {
              project: gcpProject(),
              accountId: `${NAME}-restore`,
              description: `Reads ${config.restore.from.url} to restore the etcd members`,
              bucket: config.restore.from.bucket,
              role: "roles/storage.objectViewer",
              kubernetesServiceAccount: { namespace: NAMESPACE, name: NAME },
          })
        : undefined;

const cluster = new EtcdCluster(NAME, {
    namespace: NAMESPACE,
    name: NAME,
    replicas: config.replicas,
    image: config.image,
    antiAffinity: config.antiAffinity,
    zoneSpread: config.zoneSpread,
    clusterDomain: config.clusterDomain,
    storage: { size: config.storage.size, className: storageClassName },
    resources: config.resources,
    quotaBackendBytes: config.quotaBackendBytes,
    autoCompaction: config.autoCompaction,
    clientNamespaces: config.clientNamespaces,
    metricsCollectors: config.monitoring.enabled ? collectorPods(config.monitoring.flavor, config.monitoring.namespace) : [],
    protect: config.protect,
    tls: config.tls.mode === "off" ? undefined : { clientTls: config.tls.clientTls },
    authTokenTtl: config.auth.enabled ? config.auth.tokenTtl : undefined,
    takesOverData: config.migration.fromBitnami,
    membership: {
        image: config.snapshots.kubectlImage,
        userSecretName: config.auth.enabled ? userSecretName(NAME, MEMBERSHIP_USER) : undefined,
    },
    restore: config.restore && {
        source: config.restore.from,
        revisionBump: config.restore.revisionBump,
        toolsImage: config.backup.cloudSdkImage,
        serviceAccountAnnotations: restoreReader?.serviceAccountAnnotations,
    },
});

const certificates =
    config.tls.mode === "off"
        ? undefined
        : new MemberCertificates(`${NAME}-tls`, {
              namespace: cluster.namespace,
              secretName: cluster.tlsSecretName!,
              dnsNames: cluster.certificateDnsNames,
              labels: cluster.instanceLabels,
              source:
                  config.tls.mode === "cert-manager"
                      ? { kind: "certManager", issuer: config.tls.issuer }
                      : { kind: "selfSigned", validityDays: config.tls.validityDays },
          });
/** The CA the jobs verify the members with, when clients use TLS. */
const caSecretName = config.tls.mode !== "off" && config.tls.clientTls ? certificates?.secretName : undefined;

function authentication() {
    const credentials = new EtcdCredentials(`${NAME}-credentials`, {
        namespace: cluster.namespace,
        name: NAME,
        tokenKeySecretName: cluster.tokenKeySecretName!,
        jobUsers: [BACKUP_USER, DEFRAG_USER, MEMBERSHIP_USER],
        apisix: {
            user: APISIX_USER,
            namespace: config.auth.apisixNamespace,
            secretName: APISIX_SECRET,
            clientUrl: cluster.clientUrl,
            prefix: config.auth.apisixPrefix,
            caCertificate: caSecretName === undefined ? undefined : certificates?.caCertificate,
        },
        labels: cluster.instanceLabels,
    });
    const secretOf = (user: string) => credentials.userSecretNames[user];
    new AuthBootstrap(`${NAME}-auth`, {
        namespace: cluster.namespace,
        name: AUTH_CRON_JOB,
        image: config.snapshots.kubectlImage,
        schedule: config.auth.schedule,
        endpoint: cluster.clientUrl,
        access: { caSecretName, userSecretName: secretOf("root") },
        roles: [{ name: APISIX_USER, permissions: [{ type: "READWRITE", prefix: config.auth.apisixPrefix }] }],
        users: [
            { name: APISIX_USER, secretName: secretOf(APISIX_USER), roles: [APISIX_USER] },
            // etcd 3.5 serves snapshots and defragments, and changes its membership, only for users with the root role.
            { name: BACKUP_USER, secretName: secretOf(BACKUP_USER), roles: ["root"] },
            { name: DEFRAG_USER, secretName: secretOf(DEFRAG_USER), roles: ["root"] },
            { name: MEMBERSHIP_USER, secretName: secretOf(MEMBERSHIP_USER), roles: ["root"] },
        ],
        passwordsDigest: credentials.passwordsDigest,
        restoreSource: config.restore && restoreSourceId(config.restore.from),
        members: cluster.statefulSet,
        instanceLabels: cluster.instanceLabels,
    });
    return credentials;
}
const credentials = config.auth.enabled ? authentication() : undefined;
/** How a job reaches etcd as `user`. */
const accessAs = (user: string) => ({ caSecretName, userSecretName: credentials?.userSecretNames[user] });

if (config.snapshots.enabled) {
    const snapshotClass = new PdVolumeSnapshotClass(`${NAME}-snapshot-class`, { name: `${NAME}-pd` });
    new ScheduledVolumeSnapshots(`${NAME}-volume-snapshots`, {
        namespace: cluster.namespace,
        name: `${NAME}-volume-snapshots`,
        claimNames: cluster.dataClaimNames,
        snapshotClassName: snapshotClass.name,
        schedule: config.snapshots.schedule,
        keep: config.snapshots.keep,
        image: config.snapshots.kubectlImage,
        instanceLabels: cluster.instanceLabels,
    });
}

/**
 * The lines the jobs log on success, which the Google Cloud alerts count: the backup's upload step prints
 * `uploaded gs://<bucket>/<object> (<n> bytes)` once the verified snapshot is in the bucket
 * (components/backup/upload-script.ts), the auth bootstrap `done: ...` once etcd is as declared
 * (components/access/auth-bootstrap-script.ts). test/job-success-logs.test.ts holds them to the rendered jobs.
 * The members' membership containers log the cluster's counts each round (MEMBERS_LINE; the sandbox's
 * test/membership/member-dev.test.ts matches it on their real lines).
 */
const backupUploadedLog = (bucketName: pulumi.Input<string>) => ({
    container: "upload",
    line: pulumi.interpolate`^uploaded gs://${pulumi.output(bucketName).apply((bucket) => bucket.replace(/\./g, "[.]"))}/${BACKUP_PREFIX}/`,
});
const AUTH_CONVERGED_LOG = { container: "auth", line: "^done: " };

function backups(): { bucketName: pulumi.Output<string>; jobLabels: Readonly<Record<string, string>> } {
    const project = gcpProject();
    const uploader = { namespace: NAMESPACE, name: `${NAME}-backup` };
    const bucket = new BackupBucket(`${NAME}-backups`, {
        project,
        bucketName: config.backup.bucket ?? `${project}-${NAME}-backups`,
        location: config.backup.location,
        retentionDays: config.backup.retentionDays,
        uploader,
        uploaderAccountId: `${NAME}-backup`,
        protect: config.protect,
    });
    const cronJob = new BackupCronJob(`${NAME}-backup`, {
        namespace: cluster.namespace,
        name: BACKUP_CRON_JOB,
        serviceAccountName: uploader.name,
        serviceAccountAnnotations: bucket.uploaderAnnotations,
        schedule: config.backup.schedule,
        instanceLabels: cluster.instanceLabels,
        etcdImage: config.image,
        cloudSdkImage: config.backup.cloudSdkImage,
        clientUrl: cluster.clientUrl,
        access: accessAs(BACKUP_USER),
        bucketName: bucket.bucketName,
        objectPrefix: BACKUP_PREFIX,
        snapshotName: NAME,
        maxDatabaseBytes: config.quotaBackendBytes,
    });
    return { bucketName: bucket.bucketName, jobLabels: cronJob.jobLabels };
}
const backup = config.backup.enabled ? backups() : undefined;
const backupBucketName = backup?.bucketName;

if (config.defrag.enabled) {
    new EtcdDefragmentation(`${NAME}-defrag`, {
        namespace: cluster.namespace,
        name: `${NAME}-defrag`,
        memberClientUrls: cluster.memberClientUrls,
        schedule: config.defrag.schedule,
        image: config.snapshots.kubectlImage,
        instanceLabels: cluster.instanceLabels,
        backupJobLabels: backup?.jobLabels,
        access: accessAs(DEFRAG_USER),
    });
}

if (config.monitoring.enabled) {
    new EtcdMonitoring(`${NAME}-monitoring`, {
        namespace: cluster.namespace,
        name: NAME,
        flavor: config.monitoring.flavor,
        memberLabels: cluster.memberLabels,
        metricsPort: "metrics",
        statefulSetName: cluster.statefulSet.metadata.name,
        replicas: config.replicas,
        dataClaimNames: cluster.dataClaimNames,
        dataVolumeName: cluster.dataVolumeName,
        googleCloud: config.monitoring.flavor === "gmp" ? { project: gcpProject(), clusterName: config.monitoring.cluster!, notificationChannels: config.monitoring.notificationChannels } : undefined,
        backup: backupBucketName && {
            cronJobName: BACKUP_CRON_JOB,
            intervalSeconds: longestScheduleIntervalSeconds(config.backup.schedule),
            successLog: backupUploadedLog(backupBucketName),
        },
        authBootstrap: config.auth.enabled
            ? { cronJobName: AUTH_CRON_JOB, intervalSeconds: longestScheduleIntervalSeconds(config.auth.schedule), successLog: AUTH_CONVERGED_LOG }
            : undefined,
        membershipLog: { container: "membership", line: MEMBERS_LINE },
        runbookBaseUrl: config.monitoring.runbookBaseUrl,
        instanceLabels: cluster.instanceLabels,
        labels: config.monitoring.labels,
    });
}

export const namespace = cluster.namespace;
export const clientUrl = cluster.clientUrl;
export const memberClientUrls = cluster.memberClientUrls;
export const backupBucket = backupBucketName;
/** APISIX's etcd password (a secret output; the same value is in the Secret `apisix-etcd-credentials` in APISIX's namespace). */
export const apisixEtcdPassword = credentials?.apisixPassword;
/** The first step of a restore (docs/restore.md): point the stack's `restore` at the newest backup. */
export const restoreCommand =
    backupBucketName &&
    pulumi.interpolate`pulumi config set --path restore.from "$(gcloud storage ls 'gs://${backupBucketName}/${BACKUP_PREFIX}/**' | sort | tail -n 1)"  # then docs/restore.md`;
