/**
 * Shell functions (POSIX sh with curl and jq, as in `alpine/k8s`) for talking to etcd through its JSON
 * gateway (`/v3/...`), shared by the scripts that do: the auth bootstrap and the membership steps. The
 * script that includes them defines `fail` first and sets ENDPOINT (a client URL), CACERT (the CA that
 * verifies the members; unset or empty: the system's), WAIT_TIMEOUT (seconds) and HOME (a writable folder). Request bodies go to
 * curl on stdin and the token in a header file, so no password or token is ever a process argument.
 */
export const ETCD_GATEWAY_FUNCTIONS = `umask 077
tmp=$(mktemp -d "$HOME/etcd-gateway.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/header"
etcd_curl() { curl --silent --show-error --connect-timeout 3 --max-time 10 \${CACERT:+--cacert "$CACERT"} "$@"; }
# POSTs the JSON $3 to $1/v3/$2 with the token in $tmp/header. Sets reply to the answer; on an error
# sets it to etcd's message and returns 1.
api_at() {
  code=$(printf '%s' "$3" | etcd_curl --header "@$tmp/header" --header 'Content-Type: application/json' --data-binary @- \\
    --output "$tmp/reply" --write-out '%{http_code}' "$1/v3/$2" 2>"$tmp/curl-error") || {
    reply="no answer from $1: $(cat "$tmp/curl-error")"
    return 1
  }
  reply=$(cat "$tmp/reply")
  [ "$code" != 200 ] || return 0
  message=$(printf '%s' "$reply" | jq -r '.message // .error.message // empty' 2>/dev/null) || message=""
  reply="\${message:-$reply} (HTTP $code)"
  return 1
}
api() { api_at "$ENDPOINT" "$1" "$2"; }
request() { api "$1" "$2" || fail "$3: $reply"; }
# Sets token to a token of user $1 with password $2.
login() {
  api auth/authenticate "{\\"name\\":\\"$1\\",\\"password\\":\\"$2\\"}" || return 1
  token=$(printf '%s' "$reply" | jq -r .token)
}
use_token() { printf 'Authorization: %s\\n' "$token" >"$tmp/header"; }
# Waits until ENDPOINT answers /health with 200 (members may be starting), for WAIT_TIMEOUT seconds from
# the first call; fails saying so and what it waited for ($1).
await_health() {
  deadline=\${deadline:-$(($(date +%s) + WAIT_TIMEOUT))}
  until code=$(etcd_curl --output /dev/null --write-out '%{http_code}' "$ENDPOINT/health" 2>/dev/null) && [ "$code" = 200 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$ENDPOINT/health did not answer 200 within \${WAIT_TIMEOUT}s, $1 (last answer: \${code:-none})"
    sleep 2
  done
}
`;
