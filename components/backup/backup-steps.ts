import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CA_FILE, caMounts, caVolumes, EtcdClientAccess, userEnvironment } from "../access/etcd-client-access";
import { gcsEnvironment } from "../gcs-json-api";
import { snapshotRestoreResources } from "../memory-sizing";
import { restrictedContainerSecurityContext } from "../security-context";
import { UPLOAD_SCRIPT } from "./upload-script";

type PodSpec = k8s.types.input.core.v1.PodSpec;

export interface BackupStepsArgs {
    /** The cluster's etcd image: its etcdctl and etcdutl match the members' version. */
    readonly etcdImage: string;
    /** An image with bash, GNU coreutils and curl (the Cloud SDK's). */
    readonly cloudSdkImage: string;
    /** The client Service's URL. */
    readonly clientUrl: pulumi.Input<string>;
    /** The backup's etcd user and the CA of the members. */
    readonly access: EtcdClientAccess;
    readonly bucketName: pulumi.Input<string>;
    /** Folder of the backups in the bucket, e.g. `etcd`. */
    readonly objectPrefix: string;
    /** Start of each backup's file name, e.g. `apisix-etcd`. */
    readonly snapshotName: string;
    /** The members' backend quota: the largest a snapshot can be. */
    readonly maxDatabaseBytes: number;
}

/** The volume the steps hand the snapshot over in. */
const WORK_DIR = "/backup";
const SNAPSHOT = `${WORK_DIR}/snapshot.db`;

const MIB = 2 ** 20;

/**
 * What a backup run does, one container per step, in order (the etcd image has no shell to chain
 * commands in): save a snapshot, prove it restores, upload it. Init containers run one after the
 * other and a failing one fails the pod, so nothing reaches the upload unless both steps passed.
 */
export function backupPodSpec(args: BackupStepsArgs): PodSpec {
    const etcdStep = { image: args.etcdImage, imagePullPolicy: "IfNotPresent", securityContext: restrictedContainerSecurityContext };
    const work = { name: "backup", mountPath: WORK_DIR };
    return {
        initContainers: [
            {
                ...etcdStep,
                name: "snapshot",
                command: ["/usr/local/bin/etcdctl"],
                args: ["snapshot", "save", SNAPSHOT],
                env: [
                    // The client Service routes only to ready members, and a member is ready only while it
                    // is part of a cluster with a leader: the snapshot comes from a healthy member.
                    { name: "ETCDCTL_ENDPOINTS", value: args.clientUrl },
                    { name: "ETCDCTL_DIAL_TIMEOUT", value: "10s" },
                    // Bounds the whole transfer, not one request: leave room for a database at its quota.
                    { name: "ETCDCTL_COMMAND_TIMEOUT", value: "15m" },
                    ...userEnvironment(args.access, { user: "ETCDCTL_USER", password: "ETCDCTL_PASSWORD" }),
                    ...(args.access.caSecretName === undefined ? [] : [{ name: "ETCDCTL_CACERT", value: CA_FILE }]),
                ],
                // etcdctl streams the snapshot into the file (measured: 46 MiB resident for a 1.1 GiB database).
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                volumeMounts: [work, ...caMounts(args.access)],
            },
            {
                ...etcdStep,
                // `snapshot status` reads a damaged file without complaint (or crashes on it); a restore
                // checks the snapshot's hash and rebuilds a data dir from it, as a real restore would.
                name: "verify",
                command: ["/usr/local/bin/etcdutl"],
                args: ["snapshot", "restore", SNAPSHOT, "--data-dir", `${WORK_DIR}/verify`],
                resources: snapshotRestoreResources(args.maxDatabaseBytes),
                volumeMounts: [work],
            },
        ],
        containers: [
            {
                name: "upload",
                image: args.cloudSdkImage,
                imagePullPolicy: "IfNotPresent",
                command: ["/bin/bash", "-c", UPLOAD_SCRIPT],
                env: [
                    { name: "SNAPSHOT", value: SNAPSHOT },
                    { name: "BUCKET", value: args.bucketName },
                    { name: "OBJECT_PREFIX", value: args.objectPrefix },
                    { name: "SNAPSHOT_NAME", value: args.snapshotName },
                    ...gcsEnvironment(),
                ],
                // curl streams the file: its memory does not grow with the snapshot.
                resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                securityContext: restrictedContainerSecurityContext,
                volumeMounts: [work],
            },
        ],
        volumes: [
            // The snapshot and the data dir restored from it, each at most the quota, plus the WAL.
            { name: "backup", emptyDir: { sizeLimit: `${Math.ceil((2 * args.maxDatabaseBytes) / MIB) + 512}Mi` } },
            ...caVolumes(args.access),
        ],
    };
}
