#!/usr/bin/env bash
# Resolve every runtime jar a resolver-only pom pins, from Maven Central, into a directory:
#   scripts/maven/fetch-jars.sh <pom.xml> <dest dir> [--quiet]
# (scripts/kafka/fetch.sh: the Kafka broker and tools; scripts/flink/fetch.sh: a local Flink.)
# Idempotent: skips all work while <dest>/.stamp matches the pom's hash and <dest> holds jars.
# Concurrent fetches into one <dest> are serialised with flock. Maven's output goes to
# <dest>.fetch.log and is shown only on failure.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <pom.xml> <dest dir> [--quiet]" >&2
  exit 2
fi
POM=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DEST=$2
QUIET=${3:-}
NAME=$(basename "$(dirname "$POM")")
log() { echo "[$NAME] $*" >&2; }

STAMP=$DEST/.stamp
want=$(sha256sum "$POM" | cut -d' ' -f1)

is_fresh() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && compgen -G "$DEST/*.jar" >/dev/null
}

if is_fresh; then
  [ "$QUIET" = "--quiet" ] || log "jars up to date in $DEST"
  exit 0
fi

command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; exit 1; }
command -v java >/dev/null || { log "java not found (need Java 17+)"; exit 1; }
parent=$(dirname "$DEST")
mkdir -p "$parent"

if command -v flock >/dev/null; then
  exec 9>"$DEST.fetch.lock"
  flock 9
  if is_fresh; then log "jars up to date in $DEST"; exit 0; fi
fi

log "fetching the jars of $POM via Maven -> $DEST"
start=$(date +%s)
tmp="$DEST.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mvnlog="$DEST.fetch.log"
if ! mvn -B -Dstyle.color=never -f "$POM" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
  log "maven failed; last lines of $mvnlog:"
  tail -n 30 "$mvnlog" >&2
  exit 1
fi
echo "$want" >"$tmp/.stamp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
log "fetched $(find "$DEST" -name "*.jar" | wc -l) jars ($(du -sh "$DEST" | cut -f1)) in $(($(date +%s) - start))s"
