import * as pulumi from "@pulumi/pulumi";
import {
    BackupBucket,
    BackupCronJob,
    BucketWorkloadIdentity,
    EtcdCluster,
    EtcdDefragmentation,
    EtcdMonitoring,
    longestScheduleIntervalSeconds,
    MemberStorageClass,
    PdVolumeSnapshotClass,
    ScheduledVolumeSnapshots,
} from "./components";
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
    monitoringNamespace: config.monitoringNamespace,
    protect: config.protect,
    restore: config.restore && {
        source: config.restore.from,
        revisionBump: config.restore.revisionBump,
        toolsImage: config.backup.cloudSdkImage,
        serviceAccountAnnotations: restoreReader?.serviceAccountAnnotations,
    },
});

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
        backup: config.backup.enabled
            ? { cronJobName: BACKUP_CRON_JOB, intervalSeconds: longestScheduleIntervalSeconds(config.backup.schedule) }
            : undefined,
        runbookBaseUrl: config.monitoring.runbookBaseUrl,
        instanceLabels: cluster.instanceLabels,
        labels: config.monitoring.labels,
    });
}

export const namespace = cluster.namespace;
export const clientUrl = cluster.clientUrl;
export const memberClientUrls = cluster.memberClientUrls;
export const backupBucket = backupBucketName;
/** The first step of a restore (docs/restore.md): point the stack's `restore` at the newest backup. */
export const restoreCommand =
    backupBucketName &&
    pulumi.interpolate`pulumi config set --path restore.from "$(gcloud storage ls 'gs://${backupBucketName}/${BACKUP_PREFIX}/**' | sort | tail -n 1)"  # then docs/restore.md`;
