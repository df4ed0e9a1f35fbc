import { ETCD_GATEWAY_FUNCTIONS } from "../access/etcd-gateway-script";

/**
 * The membership steps of the members (POSIX sh with curl and jq, in the tools image beside the
 * shell-less etcd image), through etcd's JSON gateway, where 64-bit member IDs travel as strings and are
 * never computed with. Each script reads from the environment:
 * - ENDPOINT: the client Service's URL (it routes to ready members only); CACERT: the CA of https members;
 * - MEMBERSHIP_USER and MEMBERSHIP_PASSWORD: the etcd user (root's role: etcd lets only root change the
 *   membership) that signs in; unset, or authentication not enabled yet: anonymous;
 * - POD_NAME and PEER_URL: the pod's name and its member's peer URL as the stack declares it.
 *
 * MEMBER_JOIN_SCRIPT (an init container, before etcd) decides how this member starts and writes etcd's
 * configuration file for it (the declared one, `$(POD_NAME)` replaced, plus the start keys):
 * - a WAL in DATA_DIR: start on it (restart, restored or migrated data); the data dir is the truth;
 * - else, a cluster answers: remove this pod's old registration when it has ever started (its data is
 *   gone, and an empty data dir must never start under an ID that had data), reuse one that was added but
 *   never started, or add it as a learner (etcd 3.5 takes one at a time; others wait their turn), then
 *   start as `existing` with exactly the members the cluster lists;
 * - else, no answer at all: only FOUNDER (ordinal 0) founds a cluster, and only while FOUNDED is empty
 *   (the ConfigMap MARKER, which the stack creates once the first members run, is absent), with a new
 *   random token, so its identity never collides with an older cluster's. Every other case waits, saying
 *   why, for WAIT_TIMEOUT seconds, then fails (the kubelet runs it again): never a second cluster.
 * MEMBERSHIP_SCRIPT (a container beside etcd) promotes the member once it is a learner in sync with the
 * leader, and corrects its registered peer URL (a migrated member keeps the one it had before); each round
 * (every 10 s once voting) it logs the counts of the registered members (MEMBERS_LINE): etcd exports none.
 * SCALE_DOWN_SCRIPT (a Job that `pulumi up` runs before the StatefulSet changes) removes the members
 * beyond REPLICAS ordinals of STATEFUL_SET, the highest first, leadership moved off each first, so a
 * member leaves the cluster before its pod goes and quorum never rests on a pod being deleted.
 */
const MEMBERSHIP_FUNCTIONS = `# Signs in as MEMBERSHIP_USER (unset: anonymous); before authentication is enabled, anonymous too.
sign_in() {
  : >"$tmp/header"
  [ -n "\${MEMBERSHIP_USER:-}" ] || return 0
  if login "$MEMBERSHIP_USER" "$MEMBERSHIP_PASSWORD"; then
    use_token
    return 0
  fi
  case $reply in *'authentication is not enabled'*) return 0 ;; esac
  reply="cannot authenticate as $MEMBERSHIP_USER: $reply"
  return 1
}
# api, signing in again once when the token is refused (it expired, or an auth change ended it).
call() {
  api "$@" && return 0
  case $reply in
    *'invalid auth token'* | *'auth store is old'* | *'user name is empty'* | *'token is expired'*) sign_in && api "$@" ;;
    *) return 1 ;;
  esac
}
# Sets members to the registered members (the JSON list), read through a quorum.
list_members() {
  call cluster/member/list '{"linearizable":true}' || return 1
  members=$(printf '%s' "$reply" | jq -c '.members // []')
}
# A member's name: the one it started with, or (added, never started) its pod's, the first label of its peer URL's host.
MEMBER_NAME='(if (.name // "") == "" then (.peerURLs[0] | sub("^[a-z]+://"; "") | split(".")[0]) else .name end)'
# The registrations of this pod among $1: by its peer URL or by its name.
registrations_of_self() {
  printf '%s' "$1" | jq -c --arg url "$PEER_URL" --arg name "$POD_NAME" "[.[] | select((.peerURLs | index(\\$url)) != null or ($MEMBER_NAME) == \\$name)]"
}
# etcd's --initial-cluster for the members $1: name=peer URL for each of their peer URLs (this pod under its own name).
initial_cluster_of() {
  printf '%s' "$1" | jq -r --arg url "$PEER_URL" --arg self "$POD_NAME" \\
    "[.[] | (if (.peerURLs | index(\\$url)) != null then \\$self else $MEMBER_NAME end) as \\$name | .peerURLs[] | \\"\\(\\$name)=\\(.)\\"] | join(\\",\\")"
}
`;

export const MEMBER_JOIN_SCRIPT = `set -eu
log() { printf '%s member-join %s: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$POD_NAME" "$*"; }
fail() { log "FAILED: $*"; exit 1; }
case \${WAIT_TIMEOUT:-} in '' | *[!0-9]*) fail "WAIT_TIMEOUT must be a number of seconds" ;; esac
for name in POD_NAME PEER_URL ENDPOINT DATA_DIR CONFIG_TEMPLATE CONFIG_FILE FOUNDER NEW_CLUSTER_PREFIX MARKER; do
  eval "value=\\\${$name:-}"
  [ -n "$value" ] || fail "$name must be set"
done
ENDPOINT=\${ENDPOINT%/}
${ETCD_GATEWAY_FUNCTIONS}${MEMBERSHIP_FUNCTIONS}
# Writes etcd's configuration: the declared file with this pod's name, and how to start ($1 state, $2 initial cluster, $3 token).
# (The pattern spells "$(" with brackets: Kubernetes would replace a $(POD_NAME) in the command itself.)
render() {
  sed -e 's|\\$[(]POD_NAME[)]|'"$POD_NAME"'|g' "$CONFIG_TEMPLATE" >"$CONFIG_FILE.partial"
  printf 'initial-cluster-state: %s\\ninitial-cluster: "%s"\\ninitial-cluster-token: %s\\n' "$1" "$2" "$3" >>"$CONFIG_FILE.partial"
  mv "$CONFIG_FILE.partial" "$CONFIG_FILE"
}

# Keeps $DATA_DIR/member aside (the newest such copy only), saying why ($1): etcd must not start on it.
set_aside() {
  rm -rf "$DATA_DIR"/member.set-aside.*
  aside="$DATA_DIR/member.set-aside.$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$DATA_DIR/member" "$aside"
  log "moved $DATA_DIR/member aside to $aside: $1"
}
# A WAL makes etcd ignore how to start: the data dir is the truth (a restart, or data restored or
# migrated), unless the cluster, answering through a quorum, no longer lists this member: then the data
# is a removed member's (a claim kept by a scale-down), which the cluster would refuse.
if ls "$DATA_DIR"/member/wal/*.wal >/dev/null 2>&1; then
  if list_members && [ "$(registrations_of_self "$members" | jq length)" = 0 ]; then
    set_aside "the cluster no longer lists $POD_NAME (it was removed); joining as a new member"
  else
    render existing "$POD_NAME=$PEER_URL" "$NEW_CLUSTER_PREFIX"
    log "starting on the data in $DATA_DIR (it has a WAL)"
    exit 0
  fi
fi
# Without a WAL, what else the folder holds belongs to no member.
if [ -e "$DATA_DIR/member" ]; then set_aside "it has no WAL"; fi

found() {
  token="$NEW_CLUSTER_PREFIX-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')"
  render new "$POD_NAME=$PEER_URL" "$token"
  log "founding a new cluster with token $token: no member answers at $ENDPOINT and no cluster was ever founded (no ConfigMap $MARKER)"
}

# One attempt to find how to start; returns 1 with the reason in $waiting to try again.
attempt() {
  # Anonymous: etcd lists its members to anyone. Only no answer at all may mean there is no cluster.
  : >"$tmp/header"
  if ! list_members; then
    case $reply in
      'no answer from'*) ;;
      *)
        waiting="the cluster answers at $ENDPOINT but not with its members: $reply"
        return 1
        ;;
    esac
    if [ "$POD_NAME" = "$FOUNDER" ] && [ -z "\${FOUNDED:-}" ]; then
      found
      return 0
    fi
    if [ -n "\${FOUNDED:-}" ]; then
      waiting="the cluster was founded (ConfigMap $MARKER) but no member answers at $ENDPOINT ($reply): not founding another one"
    else
      waiting="waiting for $FOUNDER to found the cluster: no member answers at $ENDPOINT ($reply)"
    fi
    return 1
  fi
  sign_in || { waiting=$reply; return 1; }
  mine=$(registrations_of_self "$members")
  case $(printf '%s' "$mine" | jq length) in
    0) ;;
    1)
      id=$(printf '%s' "$mine" | jq -r '.[0].ID')
      if [ "$(printf '%s' "$mine" | jq -r '.[0].name // ""')" != "" ]; then
        # It started before, so it had data; this empty data dir must not start under that ID.
        call cluster/member/remove "{\\"ID\\":\\"$id\\"}" || { waiting="cannot remove the old registration $id of $POD_NAME: $reply"; return 1; }
        log "removed the old registration $id of $POD_NAME: its data is gone; joining again as a learner"
        list_members || { waiting="cannot list the members: $reply"; return 1; }
      else
        # Added, never started (a previous attempt stopped here): start with that registration.
        initial=$(initial_cluster_of "$members")
        render existing "$initial" "$NEW_CLUSTER_PREFIX"
        log "starting with its registration $id (added, never started); initial cluster $initial"
        return 0
      fi
      ;;
    *) fail "$POD_NAME is registered more than once: $mine" ;;
  esac
  scheme=\${PEER_URL%%://*}
  other=$(printf '%s' "$members" | jq -r --arg scheme "$scheme" "[.[] | select(.peerURLs[] | startswith(\\$scheme + \\"://\\") | not) | ($MEMBER_NAME)] | first // empty")
  if [ -n "$other" ]; then
    waiting="member $other does not advertise a $scheme peer URL yet (its membership step updates it)"
    return 1
  fi
  if ! call cluster/member/add "{\\"peerURLs\\":[\\"$PEER_URL\\"],\\"isLearner\\":true}"; then
    case $reply in
      *'too many learner'*) waiting="another member is joining (etcd takes one learner at a time): $reply" ;;
      *) waiting="cannot add $POD_NAME as a learner: $reply" ;;
    esac
    return 1
  fi
  id=$(printf '%s' "$reply" | jq -r '.member.ID')
  initial=$(initial_cluster_of "$(printf '%s' "$reply" | jq -c '.members')")
  render existing "$initial" "$NEW_CLUSTER_PREFIX"
  log "added as learner $id; initial cluster $initial"
}

deadline=$(($(date +%s) + WAIT_TIMEOUT))
said=""
until attempt; do
  if [ "$waiting" != "$said" ]; then
    log "$waiting"
    said=$waiting
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "gave up after \${WAIT_TIMEOUT}s: $waiting"
  sleep 1
done
`;

/**
 * The line the membership container logs each round, with the cluster's registered members, those voting,
 * the learners and the registrations never started (no name yet): an RE2 pattern, anchored at the log's start.
 */
export const MEMBERS_LINE = "^[0-9TZ:-]+ membership [a-z0-9.-]+: members: registered=";

export const MEMBERSHIP_SCRIPT = `set -eu
log() { printf '%s membership %s: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$POD_NAME" "$*"; }
fail() { log "FAILED: $*"; exit 1; }
for name in POD_NAME PEER_URL ENDPOINT; do
  eval "value=\\\${$name:-}"
  [ -n "$value" ] || fail "$name must be set"
done
ENDPOINT=\${ENDPOINT%/}
${ETCD_GATEWAY_FUNCTIONS}${MEMBERSHIP_FUNCTIONS}trap 'exit 0' TERM INT

said=""
signed=""
# Logs what it sees when that changes (not on every round).
state() {
  if [ "$1" != "$said" ]; then
    log "$1"
    said=$1
  fi
}
# One round: logs what the cluster registers (MEMBERS_LINE, one line a round: the alerts count them),
# promotes this member once it is a learner in sync, and corrects its registered peer URL.
# Sets pause to the seconds until the next round. Signs in once (or learns that authentication is off);
# call signs in again when the token ends or authentication is enabled.
round() {
  pause=2
  [ -n "$signed" ] || { sign_in && signed=1; } || { state "$reply"; return; }
  list_members || { state "cannot list the members at $ENDPOINT: $reply"; return; }
  log "members: $(printf '%s' "$members" | jq -r '"registered=\\(length) voting=\\(map(select((.isLearner // false) | not)) | length) learners=\\(map(select(.isLearner // false)) | length) unstarted=\\(map(select((.name // "") == "")) | length)"')"
  mine=$(registrations_of_self "$members")
  [ "$(printf '%s' "$mine" | jq length)" = 1 ] || { state "not registered once in the cluster: $mine"; return; }
  id=$(printf '%s' "$mine" | jq -r '.[0].ID')
  if [ "$(printf '%s' "$mine" | jq -r '.[0].peerURLs | join(",")')" != "$PEER_URL" ]; then
    if call cluster/member/update "{\\"ID\\":\\"$id\\",\\"peerURLs\\":[\\"$PEER_URL\\"]}"; then
      log "updated the peer URL of $id to $PEER_URL"
    else
      state "cannot update the peer URL of $id to $PEER_URL: $reply"
      return
    fi
  fi
  if [ "$(printf '%s' "$mine" | jq -r '.[0].isLearner // false')" = true ]; then
    # The leader refuses until the learner's log has caught up ("in sync with leader"): try again soon.
    if call cluster/member/promote "{\\"ID\\":\\"$id\\"}"; then
      log "promoted $id to a voting member"
    else
      state "learner $id not promoted yet: $reply"
    fi
    return
  fi
  state "voting member $id"
  pause=10
}
while :; do
  round
  sleep "$pause" &
  wait $! || true
done
`;

export const SCALE_DOWN_SCRIPT = `set -eu
log() { printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() { log "FAILED: $*"; exit 1; }
case \${REPLICAS:-} in '' | *[!0-9]*) fail "REPLICAS must be a number" ;; esac
case \${WAIT_TIMEOUT:-} in '' | *[!0-9]*) fail "WAIT_TIMEOUT must be a number of seconds" ;; esac
for name in ENDPOINT STATEFUL_SET MARKER; do
  eval "value=\\\${$name:-}"
  [ -n "$value" ] || fail "$name must be set"
done
ENDPOINT=\${ENDPOINT%/}
if [ -z "\${FOUNDED:-}" ]; then
  log "done: no cluster was founded yet (no ConfigMap $MARKER), so none of its members can be in excess"
  exit 0
fi
${ETCD_GATEWAY_FUNCTIONS}${MEMBERSHIP_FUNCTIONS}
# The registered members beyond the first REPLICAS ordinals, the highest first: "<ordinal> <ID> <name>" lines.
surplus() {
  printf '%s' "$members" | jq -r --arg set "$STATEFUL_SET" --argjson replicas "$REPLICAS" \\
    "[.[] | ($MEMBER_NAME) as \\$name | (\\$name | capture(\\"^\\" + \\$set + \\"-(?<n>[0-9]+)\\$\\").n | tonumber) as \\$n
      | select(\\$n >= \\$replicas) | \\"\\(\\$n) \\(.ID) \\(\\$name)\\"] | sort_by(split(\\" \\")[0] | tonumber) | reverse | .[]"
}
# Through the Service a request can land on the member just removed, which stops answering (or answers
# "server stopped") before its pod turns unready: such a request is made again, within WAIT_TIMEOUT.
past_removed() {
  until "$@"; do
    case $reply in *'no answer from'* | *'server stopped'*) ;; *) return 1 ;; esac
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 1
  done
}
removed=0
while :; do
  await_health "before a removal"
  past_removed sign_in || fail "$reply"
  past_removed list_members || fail "cannot list the members at $ENDPOINT: $reply"
  next=$(surplus | head -n 1)
  [ -n "$next" ] || break
  set -- $next
  past_removed call maintenance/status '{}' || fail "cannot read the cluster's status: $reply"
  if [ "$(printf '%s' "$reply" | jq -r '.leader')" = "$2" ]; then
    # Hand leadership to a member that stays first: removing the leader costs an election.
    target=$(printf '%s' "$members" | jq -r --arg id "$2" '[.[] | select(.ID != $id and (.isLearner // false) == false and (.clientURLs // [] | length) > 0)] | first | .ID // empty')
    url=$(printf '%s' "$members" | jq -r --arg id "$2" '.[] | select(.ID == $id) | .clientURLs[0] // empty')
    if [ -n "$target" ] && [ -n "$url" ] && api_at "$url" maintenance/transfer-leadership "{\\"targetID\\":\\"$target\\"}"; then
      log "moved leadership from $3 to $target"
    else
      log "could not move leadership off $3 first (\${reply:-no other voting member}); removing it as leader"
    fi
  fi
  # etcd refuses a removal while a member has been connected for less than 5 s ("unhealthy cluster"), and the
  # member that answers may be the one removed ("server stopped"): look again, within WAIT_TIMEOUT.
  until call cluster/member/remove "{\\"ID\\":\\"$2\\"}"; do
    refused=$reply
    past_removed list_members || fail "cannot list the members at $ENDPOINT: $reply"
    [ -n "$(printf '%s' "$members" | jq -r --arg id "$2" '.[] | select(.ID == $id) | .ID')" ] || break
    [ "$(date +%s)" -lt "$deadline" ] || fail "cannot remove member $3 ($2) within \${WAIT_TIMEOUT}s: $refused"
    log "member $3 ($2) not removed yet, trying again: $refused"
    sleep 1
  done
  log "removed member $3 ($2): ordinal $1 is beyond replicas $REPLICAS"
  removed=$((removed + 1))
done
log "done: $removed member(s) removed; the cluster has no member beyond replicas $REPLICAS"
`;
