/**
 * The upload step of a backup (bash, in the Cloud SDK image). The kubelet starts it only after the
 * snapshot and verify init containers exited 0, so the file it finds is a snapshot that restored.
 * It reads SNAPSHOT, BUCKET, OBJECT_PREFIX and SNAPSHOT_NAME from the environment.
 *
 * The official etcd image has no shell to compute a time with, so the object is named here, after
 * the time etcdctl finished writing the file (its mtime), in UTC, so that names sort by age:
 * `<prefix>/<yyyy>/<name>-<yyyymmddTHHMMSSZ>.db`.
 */
export const UPLOAD_SCRIPT = `set -euo pipefail
taken=$(date -u -r "$SNAPSHOT" +%Y%m%dT%H%M%SZ)
object="$OBJECT_PREFIX/\${taken:0:4}/$SNAPSHOT_NAME-$taken.db"
gcloud storage cp "$SNAPSHOT" "gs://$BUCKET/$object"
echo "uploaded gs://$BUCKET/$object ($(stat -c %s "$SNAPSHOT") bytes)"
`;
