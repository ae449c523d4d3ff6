#!/usr/bin/env bash
# Resolve the Kafka broker + CLI tool jars pinned in pom.xml from Maven Central
# and copy them into $KAFKA_HOME/libs (default <repo>/.tools/kafka/libs).
# Idempotent: skips all work while $KAFKA_HOME/libs/.stamp matches pom.xml's hash.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

POM=$KAFKA_SCRIPT_DIR/pom.xml
STAMP=$KAFKA_LIBS/.stamp
want=$(sha256sum "$POM" | cut -d' ' -f1)

is_fresh() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null &&
    compgen -G "$KAFKA_LIBS/kafka-tools-[0-9]*.jar" >/dev/null
}

if is_fresh; then
  [ "${1:-}" = "--quiet" ] || kafka_log "jars up to date in $KAFKA_LIBS"
  exit 0
fi

command -v mvn >/dev/null || { kafka_log "mvn not found (apt-get install maven)"; exit 1; }
command -v java >/dev/null || { kafka_log "java not found (need Java 17+)"; exit 1; }
mkdir -p "$KAFKA_HOME"

# Serialise concurrent fetches (e.g. parallel CI jobs sharing one KAFKA_HOME).
if command -v flock >/dev/null; then
  exec 9>"$KAFKA_HOME/.fetch.lock"
  flock 9
  if is_fresh; then kafka_log "jars up to date in $KAFKA_LIBS"; exit 0; fi
fi

version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
kafka_log "fetching Kafka $version jars via Maven -> $KAFKA_LIBS"
start=$(date +%s)
tmp="$KAFKA_HOME/libs.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mvnlog="$KAFKA_HOME/fetch.log"
if ! mvn -B -Dstyle.color=never -f "$POM" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
  kafka_log "maven failed; last lines of $mvnlog:"
  tail -n 30 "$mvnlog" >&2
  exit 1
fi
echo "$want" >"$tmp/.stamp"
rm -rf "$KAFKA_LIBS"
mv "$tmp" "$KAFKA_LIBS"
trap - EXIT
kafka_log "fetched $(find "$KAFKA_LIBS" -name "*.jar" | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1)) in $(($(date +%s) - start))s"
