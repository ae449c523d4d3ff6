#!/usr/bin/env bash
# Run Flink SQL files in a local Flink mini-cluster (streaming mode, in this JVM; no cluster,
# no Docker), in order, like Flink's SQL client would:
#   scripts/flink/run-sql.sh gen/flink/behavior_events.sql gen/flink/behavior_event_counts_per_minute.sql [overrides.sql]
# DDL, ALTER TABLE and SET run as they come; the INSERTs run as one job after the last file and
# the script returns when it ends (a bounded source, 'scan.bounded.mode', makes it end).
# Fetches the jars (scripts/flink/fetch.sh) and compiles the runner (FlinkSql.java) on first use,
# both cached under $FLINK_HOME (default <repo>/.tools/flink).
# Env: FLINK_HEAP_OPTS (default -Xmx1g), FLINK_LOG4J (log4j2 config; default WARN to stderr),
#      FLINK_JAVA_OPTS (extra JVM flags).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export FLINK_HOME=${FLINK_HOME:-$here/../../.tools/flink}
if [ $# -lt 1 ]; then
  echo "usage: $0 <file.sql>..." >&2
  exit 2
fi
"$here/fetch.sh" --quiet

classes=$FLINK_HOME/classes
want=$(cat "$here/FlinkSql.java" "$FLINK_HOME/libs/.stamp" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$classes/.stamp" 2>/dev/null)" != "$want" ]; then
  tmp=$(mktemp -d "$FLINK_HOME/classes.tmp.XXXXXX")
  javac -nowarn -d "$tmp" -cp "$FLINK_HOME/libs/*" "$here/FlinkSql.java"
  echo "$want" >"$tmp/.stamp"
  rm -rf "$classes"
  mv "$tmp" "$classes"
fi

# The module openings Flink's own launcher passes on Java 17 (env.java.opts.all in its config).
opens=()
for p in java.lang java.lang.reflect java.io java.net java.nio sun.nio.ch java.text java.time java.util \
  java.util.concurrent java.util.concurrent.atomic java.util.concurrent.locks; do
  opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
done

# C1 only and the serial collector: a short local job starts faster than with the server defaults.
# shellcheck disable=SC2086 # heap/opts are intentionally word-split
exec java ${FLINK_HEAP_OPTS:--Xmx1g} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${FLINK_JAVA_OPTS:-} \
  "${opens[@]}" \
  -Dlog4j2.configurationFile="${FLINK_LOG4J:-$here/log4j2.properties}" \
  -cp "$FLINK_HOME/libs/*:$classes" FlinkSql "$@"
