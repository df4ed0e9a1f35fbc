#!/bin/sh
# kubectl of the pod sandbox's alpine/k8s image (see kubernetes-api-stand-in.ts): it answers only the
# calls the stack's scripts make, through the sandbox's Kubernetes API stand-in, as the pod's
# ServiceAccount (its mounted token), with kubectl's output and errors. Anything else fails loudly,
# so a script that starts calling something new fails its test instead of passing on a guess.
set -u
sa=/var/run/secrets/kubernetes.io/serviceaccount
refuse() {
  printf 'kubectl (pod sandbox stand-in): not a call it answers: kubectl %s\n' "$*" >&2
  printf 'it answers only: kubectl --namespace NAMESPACE get jobs --selector SELECTOR --output jsonpath={.items[*].status.active}\n' >&2
  exit 1
}
# The defragmentation's check for an active backup Job (components/defrag/defrag-script.ts).
[ "$#" -eq 8 ] && [ "$1" = --namespace ] && [ "$3" = get ] && [ "$4" = jobs ] && [ "$5" = --selector ] &&
  [ "$7" = --output ] && [ "$8" = 'jsonpath={.items[*].status.active}' ] || refuse "$@"
namespace=$2
selector=$6

# kubectl's in-cluster configuration: the Service variables the kubelet sets and the mounted token;
# without them it falls back to its default server, which nothing serves in a pod.
if [ -z "${KUBERNETES_SERVICE_HOST:-}" ] || [ -z "${KUBERNETES_SERVICE_PORT:-}" ] || [ ! -r "$sa/token" ]; then
  echo 'The connection to the server localhost:8080 was refused - did you specify the right host or port?' >&2
  exit 1
fi
port=$KUBERNETES_SERVICE_PORT
query=$(printf '%s' "$selector" | jq -sRr @uri)
# The token goes in on stdin (a header file of -), never in a process argument.
reply=$(printf 'Authorization: Bearer %s\n' "$(cat "$sa/token")" |
  curl --silent --show-error --max-time 10 --cacert "$sa/ca.crt" \
    --resolve "kubernetes.default.svc:$port:$KUBERNETES_SERVICE_HOST" --header @- \
    --write-out '\n%{http_code}' "https://kubernetes.default.svc:$port/apis/batch/v1/namespaces/$namespace/jobs?labelSelector=$query") || {
  echo "Unable to connect to the server: kubernetes.default.svc:$port" >&2
  exit 1
}
code=${reply##*
}
body=${reply%
*}
case $code in
  200)
    # kubectl's JSONPath printer: the values found, separated by one space, no newline; a Job
    # without status.active (none running) gives nothing (missing keys are allowed).
    printf '%s' "$body" | jq -j '[.items[] | .status.active | select(. != null) | tostring] | join(" ")'
    ;;
  401)
    echo 'error: You must be logged in to the server (Unauthorized)' >&2
    exit 1
    ;;
  *)
    printf '%s' "$body" | jq -r '"Error from server (\(.reason)): \(.message)"' >&2
    exit 1
    ;;
esac
