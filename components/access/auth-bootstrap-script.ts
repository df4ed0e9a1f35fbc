import { ETCD_GATEWAY_FUNCTIONS } from "./etcd-gateway-script";

/**
 * The script of the auth bootstrap Job (POSIX sh with curl and jq, as in `alpine/k8s`): it converges
 * etcd's users, roles and authentication switch to what its environment declares, through etcd's JSON
 * gateway (`/v3/auth/...`, the token in an `Authorization` header), and changes nothing when they
 * already match, so that it can run on every deployment. It reads from the environment:
 * - ENDPOINT: one client URL (the client Service), http:// or https://;
 * - CACERT: the CA bundle that verifies the members (unset or empty: the system's);
 * - ROOT_PASSWORD: the password of the `root` user; ROOT_PREVIOUS_PASSWORD (optional): its former
 *   one, during a rotation: when ROOT_PASSWORD fails and this one works, root's password is changed;
 * - ROLES: lines `<role> <READ|WRITE|READWRITE> <key base64> <range_end base64>`; each role named gets
 *   exactly these permissions (missing ones granted, others revoked). Roles not named are left alone;
 *   `root` is etcd's own and cannot be named;
 * - USERS: lines `<user> <NAME_OF_THE_VARIABLE_HOLDING_ITS_PASSWORD> <role>[,<role>...]`; each user named
 *   gets that password and exactly these roles (`root` among them if it must be an administrator).
 *   Users not named are left alone; the `root` user is ROOT_PASSWORD's and cannot be named;
 * - WAIT_TIMEOUT: seconds the endpoint may take to answer /health with 200 (members may be starting).
 *
 * With authentication on, a password is checked by authenticating with it, so an unchanged run makes no
 * request that changes anything: etcd's auth revision stays, and the tokens it has issued stay good
 * (with JWT tokens every auth change makes all earlier ones fail key-value requests until their
 * clients authenticate again). With authentication off nothing can be checked: the root user is
 * created or given ROOT_PASSWORD, every user named is given its password, and authentication is
 * switched on last, once the users exist. Root's password is then proven by authenticating with it.
 *
 * It prints one line per change and `done: <n> change(s)` or `done: no change`; on failure a line
 * starting `FAILED:` (what failed and etcd's answer) and exit 1. Passwords must be letters and digits
 * (the stack generates them so), which keeps them free of JSON quoting; they are never printed nor
 * passed as a process argument (request bodies go to curl on stdin), and files go under $HOME only.
 */
export const AUTH_BOOTSTRAP_SCRIPT = `set -eu
fail() { printf 'FAILED: %s\\n' "$*"; exit 1; }
changes=0
change() { printf '%s\\n' "$*"; changes=$((changes + 1)); }
name_ok() { case $1 in '' | *[!A-Za-z0-9_.-]*) return 1 ;; esac; }
# Sets pw to the value of the variable named $1, or fails naming the variable (never the value).
password_of() {
  case $1 in '' | [0-9]* | *[!A-Za-z0-9_]*) fail "\\"$1\\" is not the name of a variable" ;; esac
  eval "pw=\\\${$1-}"
  case $pw in '' | *[!A-Za-z0-9]*) fail "$1 must be set to letters and digits only" ;; esac
}

# Everything is checked before the first request: a bad line must not leave a half-done change.
case \${ENDPOINT:-} in http://?* | https://?*) ;; *) fail "ENDPOINT must be an http:// or https:// URL" ;; esac
ENDPOINT=\${ENDPOINT%/}
case \${WAIT_TIMEOUT:-} in '' | *[!0-9]*) fail "WAIT_TIMEOUT must be a number of seconds" ;; esac
password_of ROOT_PASSWORD
if [ -n "\${ROOT_PREVIOUS_PASSWORD:-}" ]; then password_of ROOT_PREVIOUS_PASSWORD; fi
ROLES=\${ROLES:-}
USERS=\${USERS:-}
while read -r role perm key end extra; do
  [ -n "$role" ] || continue
  { name_ok "$role" && [ "$role" != root ] && [ -z "$extra" ]; } || fail "ROLES: line of role \\"$role\\" is not <role> <permission> <key> <range_end>"
  case $perm in READ | WRITE | READWRITE) ;; *) fail "ROLES: role $role: \\"$perm\\" is not READ, WRITE or READWRITE" ;; esac
  for b in "$key" "$end"; do
    case $b in '' | *[!A-Za-z0-9+/=]*) fail "ROLES: role $role: \\"$b\\" is not base64" ;; esac
  done
done <<EOF
$ROLES
EOF
# The same range twice with different permissions would be granted back and forth on every run.
twice=$(printf '%s\\n' "$ROLES" | awk 'NF && seen[$1 " " $3 " " $4]++ { print $1 }')
[ -z "$twice" ] || fail "ROLES: role $twice lists one key range twice"
while read -r user var roles extra; do
  [ -n "$user" ] || continue
  { name_ok "$user" && [ "$user" != root ] && [ -n "$roles" ] && [ -z "$extra" ]; } || fail "USERS: line of user \\"$user\\" is not <user> <password variable> <roles>"
  for r in $(printf '%s' "$roles" | tr , ' '); do name_ok "$r" || fail "USERS: user $user: \\"$r\\" is not a role name"; done
  password_of "$var"
done <<EOF
$USERS
EOF
twice=$(printf '%s\\n' "$USERS" | awk 'NF && seen[$1]++ { print $1 }')
[ -z "$twice" ] || fail "USERS: user $twice is listed twice"

${ETCD_GATEWAY_FUNCTIONS}
await_health "before the first request"

# Sets have to the user's roles, one a line; returns 1 when there is no such user.
roles_of() {
  api auth/user/get "{\\"name\\":\\"$1\\"}" || case $reply in
    *'user name not found'*) return 1 ;;
    *) fail "cannot read user $1: $reply" ;;
  esac
  have=$(printf '%s' "$reply" | jq -r '.roles[]?')
}
set_password() { request auth/user/changepw "{\\"name\\":\\"$1\\",\\"password\\":\\"$2\\"}" "cannot change the password of user $1"; }
add_user() {
  request auth/user/add "{\\"name\\":\\"$1\\",\\"password\\":\\"$2\\"}" "cannot create user $1"
  change "created user $1"
  have=""
}
grant_role() {
  request auth/user/grant "{\\"user\\":\\"$1\\",\\"role\\":\\"$2\\"}" "cannot grant role $2 to user $1"
  change "granted role $2 to user $1"
}
range_text() { jq -rn --arg from "$1" --arg to "$2" '"[\\($from | @base64d), \\($to | @base64d))"'; }
in_list() { printf '%s\\n' "$2" | grep -qxF -- "$1"; }

if login root "$ROOT_PASSWORD"; then
  auth=on
else
  case $reply in
    *'authentication is not enabled'*) auth=off ;;
    *'authentication failed'*)
      [ -n "\${ROOT_PREVIOUS_PASSWORD:-}" ] || fail "cannot authenticate as user root with ROOT_PASSWORD: $reply"
      login root "$ROOT_PREVIOUS_PASSWORD" || fail "cannot authenticate as user root with ROOT_PASSWORD nor ROOT_PREVIOUS_PASSWORD: $reply"
      use_token
      set_password root "$ROOT_PASSWORD"
      change "changed password of user root"
      # The password change may have ended the token it was made with.
      login root "$ROOT_PASSWORD" || fail "cannot authenticate as user root with the new ROOT_PASSWORD: $reply"
      auth=on
      ;;
    *) fail "cannot authenticate as user root: $reply" ;;
  esac
fi
if [ "$auth" = on ]; then
  use_token
elif roles_of root; then
  set_password root "$ROOT_PASSWORD"
  change "set password of user root (authentication is off: it cannot be checked)"
  in_list root "$have" || grant_role root root
else
  add_user root "$ROOT_PASSWORD"
  grant_role root root
fi

for role in $(printf '%s\\n' "$ROLES" | awk 'NF && !seen[$1]++ { print $1 }'); do
  want=$(printf '%s\\n' "$ROLES" | awk -v role="$role" '$1 == role { print $2, $3, $4 }')
  if api auth/role/get "{\\"role\\":\\"$role\\"}"; then
    current=$(printf '%s' "$reply" | jq -r '.perm[]? | "\\(.permType // "READ") \\(.key // "") \\(.range_end // "")"')
  else
    case $reply in *'role name not found'*) ;; *) fail "cannot read role $role: $reply" ;; esac
    request auth/role/add "{\\"name\\":\\"$role\\"}" "cannot create role $role"
    change "created role $role"
    current=""
  fi
  while read -r perm key end; do
    [ -n "$perm" ] || continue
    # A listed range with another permission is replaced by its grant below.
    if printf '%s\\n' "$want" | awk -v key="$key" -v end="$end" '$2 == key && $3 == end { found = 1 } END { exit !found }'; then continue; fi
    request auth/role/revoke "{\\"role\\":\\"$role\\",\\"key\\":\\"$key\\",\\"range_end\\":\\"$end\\"}" "cannot revoke $perm on $key $end from role $role"
    change "revoked $perm on $(range_text "$key" "$end") from role $role"
  done <<EOF
$current
EOF
  while read -r perm key end; do
    in_list "$perm $key $end" "$current" && continue
    request auth/role/grant "{\\"name\\":\\"$role\\",\\"perm\\":{\\"permType\\":\\"$perm\\",\\"key\\":\\"$key\\",\\"range_end\\":\\"$end\\"}}" "cannot grant $perm on $key $end to role $role"
    change "granted $perm on $(range_text "$key" "$end") to role $role"
  done <<EOF
$want
EOF
done

while read -r user var roles; do
  [ -n "$user" ] || continue
  password_of "$var"
  if ! roles_of "$user"; then
    add_user "$user" "$pw"
  elif [ "$auth" = off ]; then
    set_password "$user" "$pw"
    change "set password of user $user (authentication is off: it cannot be checked)"
  elif ! login "$user" "$pw"; then
    case $reply in *'authentication failed'*) ;; *) fail "cannot check the password of user $user: $reply" ;; esac
    set_password "$user" "$pw"
    change "changed password of user $user"
  fi
  roles=$(printf '%s' "$roles" | tr , '\\n')
  for r in $have; do
    in_list "$r" "$roles" && continue
    request auth/user/revoke "{\\"name\\":\\"$user\\",\\"role\\":\\"$r\\"}" "cannot revoke role $r from user $user"
    change "revoked role $r from user $user"
  done
  for r in $roles; do
    in_list "$r" "$have" || grant_role "$user" "$r"
  done
done <<EOF
$USERS
EOF

if [ "$auth" = off ]; then
  request auth/enable '{}' "cannot enable authentication"
  change "enabled authentication"
fi
login root "$ROOT_PASSWORD" || fail "cannot authenticate as user root after the run: $reply"
use_token
request auth/status '{}' "cannot read the authentication status"
[ "$(printf '%s' "$reply" | jq -r .enabled)" = true ] || fail "authentication is still off: $reply"
case $changes in
  0) echo "done: no change" ;;
  1) echo "done: 1 change" ;;
  *) echo "done: $changes changes" ;;
esac
`;
