import * as k8s from "@pulumi/kubernetes";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/**
 * How the backup and restore pods reach GCS: curl against GCS's JSON API with an access token of
 * the pod's Google service account from GKE's metadata server (Workload Identity). Nothing else is
 * asked of GCS than the one call a step needs, so a create-only identity can upload (gcloud's `cp`
 * reads the destination's metadata first, which needs `storage.objects.get`).
 *
 * The endpoints are environment of the container, so that what the pod uses is visible in its
 * manifest (and a test can point them elsewhere the way it maps the cluster's addresses).
 */
export function gcsEnvironment(): EnvVar[] {
    return [
        { name: "METADATA_URL", value: "http://metadata.google.internal" },
        { name: "STORAGE_URL", value: "https://storage.googleapis.com" },
        // Right after a pod starts, and while a new Workload Identity binding propagates, the
        // metadata server may not answer or not hand out tokens yet.
        { name: "METADATA_WAIT_SECONDS", value: "120" },
    ];
}

/**
 * Bash functions the scripts begin with: `gcs_token` prints an access token (asking again every 2 s
 * until METADATA_WAIT_SECONDS have passed), `gcs_encode` percent-encodes an object name for a URL path
 * or query (RFC 3986: all but unreserved characters; a `/` in a path must be `%2F`), and
 * `json_field` prints a field of a JSON document whose value has no spaces, commas or escapes (a
 * token; an object's size, which the JSON API gives as a string, read as well as a number).
 */
export const GCS_FUNCTIONS = `json_field() {
  printf '%s' "$2" | sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\\{0,1\\}\\([^",}[:space:]\\\\]*\\).*/\\1/p' | head -n 1
}
gcs_token() {
  local deadline=$((SECONDS + METADATA_WAIT_SECONDS)) body token
  while :; do
    body=$(curl --silent --show-error --fail --connect-timeout 5 --max-time 10 -H 'Metadata-Flavor: Google' \\
      "$METADATA_URL/computeMetadata/v1/instance/service-accounts/default/token") || body=
    token=$(json_field access_token "$body")
    if [ -n "$token" ]; then
      printf '%s' "$token"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "no access token from the metadata server within \${METADATA_WAIT_SECONDS}s" >&2
      return 1
    fi
    sleep 2
  done
}
gcs_encode() {
  local LC_ALL=C text=$1 out= char i
  for ((i = 0; i < \${#text}; i++)); do
    char=\${text:i:1}
    case $char in
      [A-Za-z0-9._~-]) out+=$char ;;
      *) printf -v char '%%%02X' "'$char"; out+=$char ;;
    esac
  done
  printf '%s' "$out"
}
`;
