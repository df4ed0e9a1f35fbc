import { GCS_FUNCTIONS } from "../gcs-json-api";

/**
 * The upload step of a backup (bash and curl, in the Cloud SDK image). The kubelet starts it only
 * after the snapshot and verify init containers exited 0, so the file it finds is a snapshot that
 * restored. It reads SNAPSHOT, BUCKET, OBJECT_PREFIX, SNAPSHOT_NAME and the GCS endpoints
 * (components/gcs-json-api.ts) from the environment.
 *
 * The official etcd image has no shell to compute a time with, so the object is named here, after
 * the time etcdctl finished writing the file (its mtime), in UTC, so that names sort by age:
 * `<prefix>/<yyyy>/<name>-<yyyymmddTHHMMSSZ>.db`.
 *
 * One JSON API media upload: it needs `storage.objects.create` only, and with `ifGenerationMatch=0`
 * GCS refuses (412) a name that exists, so a backup is never replaced. curl streams the file
 * (`--upload-file`, without waiting for a `100 Continue`), and aborts a transfer that stalls for two minutes. GCS keeps an object whole
 * or not at all; the size it reports stored is checked against the file's.
 */
export const UPLOAD_SCRIPT = `set -euo pipefail
${GCS_FUNCTIONS}
taken=$(date -u -r "$SNAPSHOT" +%Y%m%dT%H%M%SZ)
object="$OBJECT_PREFIX/\${taken:0:4}/$SNAPSHOT_NAME-$taken.db"
size=$(stat -c %s "$SNAPSHOT")
token=$(gcs_token)
response=$(curl --silent --show-error --connect-timeout 20 --speed-limit 1 --speed-time 120 \\
  --request POST --upload-file "$SNAPSHOT" --write-out '\\n%{http_code}' \\
  -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' -H 'Expect:' \\
  "$STORAGE_URL/upload/storage/v1/b/$BUCKET/o?uploadType=media&ifGenerationMatch=0&name=$(gcs_encode "$object")")
status=\${response##*$'\\n'}
body=\${response%$'\\n'*}
case "$status" in
  200) ;;
  412) echo "gs://$BUCKET/$object exists already: a backup is never replaced" >&2; exit 1 ;;
  *) echo "upload of gs://$BUCKET/$object failed: HTTP $status: $body" >&2; exit 1 ;;
esac
stored=$(json_field size "$body")
if [ "$stored" != "$size" ]; then
  echo "GCS reports $stored bytes stored as gs://$BUCKET/$object, the snapshot has $size" >&2
  exit 1
fi
echo "uploaded gs://$BUCKET/$object ($size bytes)"
`;
