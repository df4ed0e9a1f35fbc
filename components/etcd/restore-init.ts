import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as path from "path";
import { GCS_FUNCTIONS, gcsEnvironment } from "../gcs-json-api";
import { snapshotRestoreResources } from "../memory-sizing";
import { restrictedContainerSecurityContext } from "../security-context";
import { ClusterTopology } from "./topology";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

/** A backup object in GCS, or a CSI VolumeSnapshot of a member's volume in the cluster's namespace. */
export type RestoreSource = { readonly kind: "gcs"; readonly url: string } | { readonly kind: "volumeSnapshot"; readonly name: string };

/** How `restore.from` names a source: `gs://<bucket>/<object>` or `volume-snapshot:<name>`. */
export function restoreSourceId(source: RestoreSource): string {
    return source.kind === "gcs" ? source.url : `volume-snapshot:${source.name}`;
}

export interface MemberRestoreArgs {
    /** The snapshot every member restores from. */
    readonly source: RestoreSource;
    /** Added to the snapshot's latest revision (`--bump-revision`, marked compacted); 0 keeps it. */
    readonly revisionBump: number;
    /** An image with bash, GNU coreutils and (for a GCS source) curl, for the steps around etcdutl. */
    readonly toolsImage: string;
    /** Annotations of the members' ServiceAccount, e.g. the Workload Identity binding that may read the backup. */
    readonly serviceAccountAnnotations?: pulumi.Input<Record<string, string>>;
}

export interface MemberRestoreStepsArgs extends MemberRestoreArgs {
    readonly topology: ClusterTopology;
    /** The members' etcd image, for its etcdutl. */
    readonly image: string;
    /** The data volume's name in the pod and where it is mounted. */
    readonly dataVolume: string;
    readonly dataMountPath: string;
    /** etcd's data dir, inside the mount. */
    readonly dataDir: string;
    /** The member volumes' size: a disk made from a volume snapshot must be at least as large. */
    readonly volumeSize: string;
    /** The members' backend quota: the largest the snapshot's database can be. */
    readonly maxDatabaseBytes: number;
}

/** Init containers and volumes to add to the member pod. */
export interface MemberRestoreSteps {
    readonly initContainers: Container[];
    readonly volumes: Volume[];
}

/**
 * Drops what an interrupted restore left (never installed), then downloads the backup, if it is one:
 * one JSON API media download (`alt=media`, needs `storage.objects.get`), beside the target until
 * complete, with a token of the members' Google identity (components/gcs-json-api.ts).
 */
const FETCH_SCRIPT = `set -euo pipefail
${GCS_FUNCTIONS}
rm -rf "$STAGING_DIR" "$DOWNLOAD" "$DOWNLOAD.partial"
if [ -n "\${SOURCE_URL:-}" ]; then
  location=\${SOURCE_URL#gs://}
  bucket=\${location%%/*}
  object=\${location#*/}
  token=$(gcs_token)
  status=$(curl --silent --show-error --connect-timeout 20 --speed-limit 1 --speed-time 120 \\
    --output "$DOWNLOAD.partial" --write-out '%{http_code}' -H "Authorization: Bearer $token" \\
    "$STORAGE_URL/storage/v1/b/$bucket/o/$(gcs_encode "$object")?alt=media")
  if [ "$status" != 200 ]; then
    echo "download of $SOURCE_URL failed: HTTP $status: $(head -c 2000 "$DOWNLOAD.partial" 2>/dev/null)" >&2
    rm -f "$DOWNLOAD.partial"
    exit 1
  fi
  mv "$DOWNLOAD.partial" "$DOWNLOAD"
  echo "downloaded $SOURCE_URL ($(stat -c %s "$DOWNLOAD") bytes)"
fi
`;

/** Installs the restored data dir only where the member has none; never touches existing data. */
const INSTALL_SCRIPT = `set -euo pipefail
if [ -n "$(ls -A "$DATA_DIR" 2>/dev/null)" ]; then
  echo "$DATA_DIR holds data: keeping it and discarding the restored copy"
  rm -rf "$STAGING_DIR"
else
  rm -rf "$DATA_DIR"
  mv "$STAGING_DIR" "$DATA_DIR"
  echo "restored $DATA_DIR"
fi
rm -f "$DOWNLOAD"
`;

/** Where a volume snapshot's disk is mounted. */
const SOURCE_MOUNT = "/restore-source";

/**
 * The init containers that restore a member from a snapshot before etcd starts, while the stack's
 * `restore` is set. The etcd image has no shell, so etcdutl cannot be made conditional: it always
 * restores into a staging dir on the data volume, and a shell step after it moves that into place
 * (one rename, so a restore that fails halfway never leaves a partial data dir) only when the member
 * has no data, and discards it otherwise. Restarts while `restore` is set so cost one download and
 * restore each, and never change a member's data.
 *
 * Every member restores with its own name and peer URL into the same new cluster. The cluster token
 * differs from the original one (and per snapshot), so a member that kept its old data dir cannot
 * join the restored cluster: its cluster ID does not match.
 */
export function memberRestoreSteps(args: MemberRestoreStepsArgs): MemberRestoreSteps {
    const self = "$(POD_NAME)";
    const staging = `${args.dataMountPath}/restore-staging`;
    const download = `${args.dataMountPath}/restore-snapshot.db`;
    const fromSnapshot = args.source.kind === "volumeSnapshot";
    // A data dir's own database has no integrity hash appended, unlike a saved snapshot.
    const input = fromSnapshot ? `${SOURCE_MOUNT}/${path.posix.relative(args.dataMountPath, args.dataDir)}/member/snap/db` : download;
    const token = `${args.topology.headlessServiceName}-restore-${createHash("sha256").update(restoreSourceId(args.source)).digest("hex").slice(0, 8)}`;

    const data = { name: args.dataVolume, mountPath: args.dataMountPath };
    const paths = [
        { name: "DATA_DIR", value: args.dataDir },
        { name: "STAGING_DIR", value: staging },
        { name: "DOWNLOAD", value: download },
    ];
    const toolStep = {
        image: args.toolsImage,
        imagePullPolicy: "IfNotPresent",
        // bash, curl (streaming the download) and mv.
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        securityContext: restrictedContainerSecurityContext,
    };
    const initContainers: Container[] = [
        {
            ...toolStep,
            name: "restore-fetch",
            command: ["/bin/bash", "-c", FETCH_SCRIPT],
            env: [
                ...paths,
                ...(args.source.kind === "gcs" ? [{ name: "SOURCE_URL", value: args.source.url }, ...gcsEnvironment()] : []),
            ],
            volumeMounts: [data],
        },
        {
            name: "restore",
            image: args.image,
            imagePullPolicy: "IfNotPresent",
            command: ["/usr/local/bin/etcdutl"],
            args: [
                "snapshot", "restore", input,
                "--name", self,
                "--initial-cluster", args.topology.initialCluster,
                "--initial-cluster-token", token,
                "--initial-advertise-peer-urls", args.topology.peerUrl(self),
                "--data-dir", staging,
                ...(args.revisionBump > 0 ? ["--bump-revision", String(args.revisionBump), "--mark-compacted"] : []),
                ...(fromSnapshot ? ["--skip-hash-check"] : []),
            ],
            env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
            resources: snapshotRestoreResources(args.maxDatabaseBytes),
            securityContext: restrictedContainerSecurityContext,
            volumeMounts: [data, ...(fromSnapshot ? [{ name: "restore-source", mountPath: SOURCE_MOUNT, readOnly: true }] : [])],
        },
        { ...toolStep, name: "restore-install", command: ["/bin/bash", "-c", INSTALL_SCRIPT], env: paths, volumeMounts: [data] },
    ];

    const volumes: Volume[] = [];
    if (args.source.kind === "volumeSnapshot") {
        // A disk of the member's own, made from the snapshot (PD snapshots restore into any zone) for
        // as long as the pod lives; a shared one could not be attached in every member's zone. The
        // cluster's default class deletes it with the pod; the members' class would retain it.
        volumes.push({
            name: "restore-source",
            ephemeral: {
                volumeClaimTemplate: {
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        resources: { requests: { storage: args.volumeSize } },
                        dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: args.source.name },
                    },
                },
            },
        });
    }
    return { initContainers, volumes };
}
