/**
 * The script of the scheduled defragmentation (POSIX sh with curl, and kubectl when BACKUP_SELECTOR
 * is set). It talks to each member through etcd's JSON gateway (`/v3/maintenance/...`, `/health`),
 * so it needs no etcdctl: the official etcd image has no shell (nor `cp`) to run or hand over its
 * binaries. It reads from the environment:
 * - MEMBERS: the members' client URLs, space-separated (every member, not the client Service);
 * - NAMESPACE and BACKUP_SELECTOR: where and by which labels to find the backup Jobs (unset: none);
 * - DEFRAG_TIMEOUT: seconds one member's defragmentation may take;
 * - HEALTH_TIMEOUT: seconds the cluster may take to be healthy again after one member's;
 * - CACERT: the CA to verify https members with (unset: plain http);
 * - ETCD_USER and ETCD_PASSWORD: the etcd user to defragment as (unset, or authentication not yet
 *   enabled: anonymous). A token is fetched before each member, since one lives only minutes.
 *
 * One member at a time, the leader last (a defragmenting member blocks its reads and writes; a
 * follower's pause costs no election, and the leader's comes when all others are done). Before each
 * member the whole cluster is checked: every member answers /health with 200 and a status request, one
 * of them is the leader all know, the member list has exactly MEMBERS' count, no alarm is raised, and
 * no backup Job is active. When a check fails the run STOPS WITH EXIT 0 and a line starting `SKIP:`
 * naming the reason and what was done: defragmenting is optional maintenance that can wait a week,
 * an unhealthy cluster already pages through its own alerts, and a failed Job would be retried into
 * the same cluster. The run fails (exit 1) only for what it may have caused or cannot judge: a
 * defragment request that fails, a member not healthy again within HEALTH_TIMEOUT, or kubectl unable
 * to list the backup Jobs.
 */
export const DEFRAG_SCRIPT = `set -eu
log() { printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
done_list=""
skip() {
  log "SKIP: $*; defragmented:\${done_list:- none}"
  exit 0
}
fail() {
  log "FAILED: $*; defragmented:\${done_list:- none}"
  exit 1
}
tls_opts=""
if [ -n "\${CACERT:-}" ]; then tls_opts="--cacert $CACERT"; fi
auth_header="\${HOME:-/tmp}/etcd-auth-header"
rm -f "$auth_header"
auth_opts=""
call() { curl --silent --show-error --fail --max-time "$3" $tls_opts $auth_opts -X POST -H 'Content-Type: application/json' --data '{}' "$1/v3/$2"; }
field() { sed -n "s/.*\\"$1\\":\\"\\\\([0-9]*\\\\)\\".*/\\\\1/p"; }
health_of() { curl --silent --output /dev/null --max-time 5 $tls_opts --write-out '%{http_code}' "$1/health" || true; }

# Fetches a token for ETCD_USER into the header file, which keeps it off the command lines.
authenticate() {
  [ -n "\${ETCD_USER:-}" ] || return 0
  answer=$(printf '{"name":"%s","password":"%s"}' "$ETCD_USER" "$ETCD_PASSWORD" |
    curl --silent --show-error --max-time 5 $tls_opts -X POST -H 'Content-Type: application/json' --data @- "$1/v3/auth/authenticate") ||
    skip "member $1 does not answer an authentication request"
  token=$(printf '%s' "$answer" | sed -n 's/.*"token":"\\([^"]*\\)".*/\\1/p')
  if [ -n "$token" ]; then
    printf 'Authorization: %s\\n' "$token" >"$auth_header"
    auth_opts="-H @$auth_header"
  else
    case "$answer" in
      *"authentication is not enabled"*) auth_opts="" ;;
      *) fail "cannot authenticate as $ETCD_USER: $answer" ;;
    esac
  fi
}
count() { set -- $1; echo $#; }
expected=$(count "$MEMBERS")

# Sets leader_url, or skips naming the first thing wrong with the cluster.
check_cluster() {
  leader_url=""
  for url in $MEMBERS; do
    code=$(health_of "$url")
    [ "$code" = 200 ] || skip "member $url is not healthy (/health answered \${code:-nothing})"
  done
  authenticate "\${MEMBERS%% *}"
  for url in $MEMBERS; do
    status=$(call "$url" maintenance/status 5) || skip "member $url does not answer a status request"
    id=$(printf '%s' "$status" | field member_id)
    leader=$(printf '%s' "$status" | field leader)
    [ -n "$leader" ] && [ "$leader" != 0 ] || skip "member $url knows no leader"
    if [ "$id" = "$leader" ]; then leader_url=$url; fi
  done
  [ -n "$leader_url" ] || skip "none of the members is the leader"
  members=$(call "$leader_url" cluster/member/list 5) || skip "the leader does not answer a member list request"
  listed=$(printf '%s' "$members" | grep -o '"ID":"' | wc -l)
  [ "$listed" -eq "$expected" ] || skip "the cluster lists $listed members, expected $expected"
  alarms=$(call "$leader_url" maintenance/alarm 5) || skip "the leader does not answer an alarm request"
  case "$alarms" in *'"alarms"'*) skip "an alarm is raised: $alarms" ;; esac
}

check_backup() {
  [ -n "\${BACKUP_SELECTOR:-}" ] || return 0
  active=$(kubectl --namespace "$NAMESPACE" get jobs --selector "$BACKUP_SELECTOR" --output 'jsonpath={.items[*].status.active}') ||
    fail "cannot list the backup Jobs ($BACKUP_SELECTOR)"
  case "$active" in *[1-9]*) skip "a backup Job is active ($BACKUP_SELECTOR)" ;; esac
}

wait_healthy() {
  deadline=$(($(date +%s) + HEALTH_TIMEOUT))
  while :; do
    unhealthy=""
    for url in $MEMBERS; do
      [ "$(health_of "$url")" = 200 ] || unhealthy="$unhealthy $url"
    done
    [ -n "$unhealthy" ] || return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail "not healthy \${HEALTH_TIMEOUT}s after defragmenting $1:$unhealthy"
    sleep 2
  done
}

remaining=$MEMBERS
while [ -n "$remaining" ]; do
  check_cluster
  check_backup
  next=""
  for url in $remaining; do
    if [ "$url" != "$leader_url" ]; then next=$url; break; fi
  done
  [ -n "$next" ] || next=$leader_url
  role=follower
  if [ "$next" = "$leader_url" ]; then role=leader; fi
  before=$(call "$next" maintenance/status 5 | field dbSize)
  log "defragmenting $next ($role), dbSize $before bytes"
  call "$next" maintenance/defragment "$DEFRAG_TIMEOUT" >/dev/null || fail "the defragment request to $next failed"
  wait_healthy "$next"
  after=$(call "$next" maintenance/status 5 | field dbSize)
  log "defragmented $next ($role), dbSize $before -> $after bytes"
  done_list="$done_list $next"
  rest=""
  for url in $remaining; do
    if [ "$url" != "$next" ]; then rest="$rest $url"; fi
  done
  remaining=\${rest# }
done
log "done: defragmented$done_list"
`;
