/**
 * The script of the scheduled VolumeSnapshots (POSIX sh; kubectl alone cannot prune "all but the
 * newest N"). It reads NAMESPACE, CLAIMS (space-separated), CLAIM_LABEL, SNAPSHOT_CLASS, KEEP and
 * READY_TIMEOUT from the environment.
 *
 * Every claim gets a snapshot named `<claim>-<UTC yyyymmddHHMMSS>`, so that names sort by age; old
 * snapshots are pruned only once all new ones are ready to use, so a failing run never leaves fewer
 * usable snapshots than before. The class retains disk snapshots when their objects are deleted, so
 * pruning first marks the snapshot's content for deletion: only what this job prunes goes for good.
 */
export const VOLUME_SNAPSHOT_SCRIPT = `set -eu
k() { kubectl --namespace "$NAMESPACE" "$@"; }
stamp=$(date -u +%Y%m%d%H%M%S)
for claim in $CLAIMS; do
  k get persistentvolumeclaim "$claim" >/dev/null
done
for claim in $CLAIMS; do
  k create -f - <<EOF
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: $claim-$stamp
  labels:
    $CLAIM_LABEL: $claim
spec:
  volumeSnapshotClassName: $SNAPSHOT_CLASS
  source:
    persistentVolumeClaimName: $claim
EOF
done
for claim in $CLAIMS; do
  k wait --for=jsonpath='{.status.readyToUse}'=true --timeout="$READY_TIMEOUT" "volumesnapshot/$claim-$stamp"
done
for claim in $CLAIMS; do
  names=$(k get volumesnapshots --selector "$CLAIM_LABEL=$claim" --output name)
  for snapshot in $(printf '%s\\n' "$names" | sort -r | tail -n +"$((KEEP + 1))"); do
    content=$(k get "$snapshot" --output jsonpath='{.status.boundVolumeSnapshotContentName}')
    if [ -n "$content" ]; then
      kubectl patch volumesnapshotcontent "$content" --type merge --patch '{"spec":{"deletionPolicy":"Delete"}}'
    fi
    k delete "$snapshot"
  done
done
`;
