#!/usr/bin/env bash
# Brings Debian's newest etcd 3.5 (etcd, etcdctl, etcdutl), Prometheus' promtool, and jq with the C library it
# is built for onto this machine without touching the system's apt setup: a private apt config/state/cache
# under the cache dir, `apt-get download`, then `dpkg -x`.
#
# etcd comes from Debian's testing suite, which carries the newest 3.5 patch (3.5.30 on 2026-12-01; trixie
# has 3.5.16, which misses the stale-read, watch, lease and auth fixes the stack's default image has);
# promtool from trixie, the stable suite. jq from testing as well (1.8, the line of the Alpine that the
# stack's tools image is built on; bookworm's 1.6 also takes 30 ms of CPU to start, 1.8 takes 4), with
# testing's glibc (libc6), which it needs: the pod sandbox runs the images' programs on that C library
# (test/pod-sandbox/container-root.ts); nothing on the machine itself uses it.
#
# Usage: scripts/install-debian-tools.sh        (prints the bin dir on success)
# Env:   TOOLS_CACHE        cache root (default: <repo>/.cache/debian-tools)
#        DEBIAN_MIRROR      archive URI (default: the first .../debian URI of the system's apt sources;
#                           required where those are not Debian's, e.g. on an Ubuntu CI runner)
#        ETCD_SUITE         suite of etcd-server and etcd-client (default: testing)
#        ETCD_MIN_PATCH     lowest etcd 3.5 patch accepted (default: 30)
#        PROMTOOL_SUITE     suite of promtool (default: trixie)
#        JQ_SUITE           suite of jq, libjq1, libonig5 and libc6 (default: testing)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TOOLS_CACHE:-$REPO/.cache/debian-tools}"
ETCD_SUITE="${ETCD_SUITE:-testing}"
ETCD_MIN_PATCH="${ETCD_MIN_PATCH:-30}"
PROMTOOL_SUITE="${PROMTOOL_SUITE:-trixie}"
JQ_SUITE="${JQ_SUITE:-testing}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Each package with the suite it is taken from. promtool is its own package since trixie (the
# "prometheus" package has only the server).
PACKAGES=("etcd-server/$ETCD_SUITE" "etcd-client/$ETCD_SUITE" "promtool/$PROMTOOL_SUITE"
  "jq/$JQ_SUITE" "libjq1/$JQ_SUITE" "libonig5/$JQ_SUITE" "libc6/$JQ_SUITE")
ROOT="$CACHE/root"
BIN="$ROOT/usr/bin"

log() { echo "install-debian-tools: [${SECONDS}s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# True when <bin dir>/<tool> runs and its version output has a line matching <regex>.
# (Output is captured first: `tool | grep -q` under pipefail fails at random
# when grep exits before the tool has written everything.)
version_ok() {
  local out
  out="$("$1/$2" "$3" 2>&1)" || return 1
  grep -q "$4" <<<"$out"
}

# True when <bin dir>/<tool> reports etcd 3.5.<patch> with patch >= ETCD_MIN_PATCH (an older cache is replaced).
etcd_version_ok() {
  local out patch
  out="$("$1/$2" "$3" 2>&1)" || return 1
  patch="$(sed -n -E "s/^$4 3\.5\.([0-9]+)\$/\1/p" <<<"$out" | head -n1)"
  [ -n "$patch" ] && [ "$patch" -ge "$ETCD_MIN_PATCH" ]
}

# <bin dir>/jq --version, started by the dynamic loader and with the libraries of the same tree (as the pod
# sandbox's containers start it).
jq_version() {
  local usr
  usr="$(dirname "$1")"
  "$usr/lib64/ld-linux-x86-64.so.2" --library-path "$usr/lib/x86_64-linux-gnu" "$1/jq" --version
}

# True when <bin dir>/jq reports jq 1.7 or later.
jq_ok() {
  local out
  out="$(jq_version "$1" 2>&1)" || return 1
  grep -qE '^jq-1\.([7-9]|[1-9][0-9])(\.|$)' <<<"$out"
}

# True when every tool in <bin dir> exists and reports the expected version.
tools_ok() {
  etcd_version_ok "$1" etcd --version 'etcd Version:' &&
    etcd_version_ok "$1" etcdctl version 'etcdctl version:' &&
    etcd_version_ok "$1" etcdutl version 'etcdutl version:' &&
    version_ok "$1" promtool --version '^promtool, version 2\.' &&
    jq_ok "$1"
}

# Fast path: nothing to do (no lock, no network).
if tools_ok "$BIN"; then
  echo "$BIN"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found (this script needs a Debian-based machine)"
command -v dpkg >/dev/null || die "dpkg not found"
[ -r "$KEYRING" ] || die "Debian archive keyring $KEYRING is missing (apt-get install debian-archive-keyring)"

mkdir -p "$CACHE"
# Serialise concurrent runs (e.g. parallel jest workers); re-check after the lock.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null; then
  flock -w 900 9 || die "timed out waiting for the lock on $CACHE/.lock"
  if tools_ok "$BIN"; then
    echo "$BIN"
    exit 0
  fi
  # Leftovers of runs that were killed before their EXIT trap ran (safe: we hold the lock).
  rm -rf "$CACHE"/tmp.* "$ROOT.old"
fi

# The Debian archive the system's apt sources use (first .../debian URI); none is assumed.
detect_mirror() {
  local f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri="$(sed -n -E \
      -e 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z+]+:\/\/[^[:space:]]+\/debian)\/?[[:space:]].*/\2/p' \
      -e 's/^[[:space:]]*URIs:[[:space:]]*([a-z+]+:\/\/[^[:space:]]+\/debian)\/?([[:space:]].*)?$/\1/p' \
      "$f" | head -n1)"
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
}
MIRROR="${DEBIAN_MIRROR:-$(detect_mirror)}"
[ -n "$MIRROR" ] || die "no Debian archive in the system's apt sources: set DEBIAN_MIRROR to a Debian archive URI (.../debian)"

START=$(date +%s)
TMP="$(mktemp -d "$CACHE/tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

APTDIR="$CACHE/apt"
mkdir -p "$APTDIR/etc/apt.conf.d" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/state"
: >"$APTDIR/state/status" # empty dpkg status: nothing "installed" in the private view
SOURCES="$APTDIR/etc/sources.list"
# Signatures are checked against the keyring as usual; the Release file's Valid-Until is not, since
# testing's expires within days and an archive snapshot (as some machines' sources are) keeps an old one.
for suite in $(printf '%s\n' "${PACKAGES[@]##*/}" | sort -u); do
  echo "deb [signed-by=$KEYRING check-valid-until=no] $MIRROR $suite main"
done >"$SOURCES"

# APT_CONFIG is read before apt.conf.d, so pointing Dir::Etc::Parts at an empty
# dir keeps the system's hooks (e.g. appstream/packagekit Post-Invoke) out.
cat >"$APTDIR/etc/apt.conf" <<CONF
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$APTDIR/etc/apt.conf.d";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
CONF

APT_OPTS=(
  -o "Dir::Etc::SourceList=$SOURCES"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=/dev/null"
  -o "Dir::State=$APTDIR/state"
  -o "Dir::State::Lists=$APTDIR/lists"
  -o "Dir::State::status=$APTDIR/state/status"
  -o "Dir::Cache=$APTDIR/cache"
  # binary caches (~80 MB) only for the duration of this run
  -o "Dir::Cache::pkgcache=$TMP/pkgcache.bin"
  -o "Dir::Cache::srcpkgcache=$TMP/srcpkgcache.bin"
)
apt_private() { APT_CONFIG="$APTDIR/etc/apt.conf" apt-get -q "${APT_OPTS[@]}" "$@"; }
apt_cache_private() { APT_CONFIG="$APTDIR/etc/apt.conf" apt-cache "${APT_OPTS[@]}" "$@"; }

log "apt-get update ($MIRROR $(printf '%s\n' "${PACKAGES[@]##*/}" | sort -u | tr '\n' ' ')main) into $APTDIR"
apt_private update >"$TMP/update.log" 2>&1 || { cat "$TMP/update.log" >&2; die "apt-get update failed"; }
# apt-get update exits 0 on some fetch failures; make sure the index is there.
for p in "${PACKAGES[@]}"; do
  if ! info="$(apt_cache_private policy "${p%/*}" 2>"$TMP/check.log")" || ! grep -q "/debian ${p#*/}/main" <<<"$info"; then
    cat "$TMP/update.log" "$TMP/check.log" >&2
    die "package ${p%/*} not found in $MIRROR ${p#*/} (see apt output above)"
  fi
done

mkdir -p "$TMP/debs"
# When root, apt downloads as _apt: let it write into the target dir.
if [ "$(id -u)" = 0 ] && getent passwd _apt >/dev/null; then chown _apt "$TMP/debs"; fi
log "apt-get download ${PACKAGES[*]}"
(cd "$TMP/debs" && apt_private download "${PACKAGES[@]}") >"$TMP/download.log" 2>&1 ||
  { cat "$TMP/download.log" >&2; die "apt-get download failed"; }

# Extract into a temp tree and only rename it into place once it verifies, so an
# interrupted run never leaves a tree that a later run takes as complete.
STAGE="$TMP/root"
mkdir -p "$STAGE"
for deb in "$TMP"/debs/*.deb; do
  log "extract $(basename "$deb")"
  dpkg -x "$deb" "$STAGE" || die "dpkg -x $deb failed"
done
if ! tools_ok "$STAGE/usr/bin"; then
  for t in etcd etcdctl etcdutl promtool jq; do
    ls -l "$STAGE/usr/bin/$t" >&2 || true
  done
  "$STAGE/usr/bin/etcd" --version >&2 || true
  "$STAGE/usr/bin/promtool" --version >&2 || true
  die "extracted binaries missing or wrong version"
fi

rm -rf "$ROOT.old"
if [ -e "$ROOT" ]; then mv "$ROOT" "$ROOT.old"; fi
mv "$STAGE" "$ROOT"
rm -rf "$ROOT.old"
# The index (~20 MB) is only needed to install, and would be stale by the next install.
rm -rf "$APTDIR/lists"

SIZE_KB=$(du -ck "$TMP"/debs/*.deb | tail -n1 | cut -f1)
log "downloaded $(ls "$TMP"/debs | tr '\n' ' ')(${SIZE_KB} KiB) in $(($(date +%s) - START))s"
log "$("$BIN/etcd" --version | head -n1); $("$BIN/promtool" --version 2>&1 | head -n1); $(jq_version "$BIN")"
echo "$BIN"
