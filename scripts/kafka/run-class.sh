#!/usr/bin/env bash
# Run a Kafka main class from the fetched jars (like bin/kafka-run-class.sh).
#   scripts/kafka/run-class.sh <MainClass> [args...]
# e.g.
#   run-class.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#   run-class.sh org.apache.kafka.tools.ProducerPerformance --topic t --num-records 1000 ...
#   run-class.sh org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server ... --topic t
#   run-class.sh org.apache.kafka.tools.GetOffsetShell --bootstrap-server ... --topic t
# Env: KAFKA_TOOLS_HEAP_OPTS (default -Xmx256m), KAFKA_TOOLS_LOG4J (log4j2 config file),
#      KAFKA_TOOLS_OPTS (extra JVM flags).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ $# -lt 1 ]; then
  echo "usage: $0 <MainClass> [args...]" >&2
  exit 2
fi
"$KAFKA_SCRIPT_DIR/fetch.sh" --quiet

# shellcheck disable=SC2086 # heap/opts are intentionally word-split
exec java $KAFKA_TOOLS_HEAP_OPTS ${KAFKA_TOOLS_OPTS:-} \
  -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="${KAFKA_TOOLS_LOG4J:-$KAFKA_SCRIPT_DIR/log4j2-tools.properties}" \
  -cp "$KAFKA_LIBS/*" "$@"
