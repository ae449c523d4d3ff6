#!/usr/bin/env bash
# End-to-end check of these scripts against a real broker, on its own ports and a
# throwaway data dir (so it never touches a dev broker on 9092):
# up -> create 12-partition topic -> produce 1000 records (ProducerPerformance, gzip,
# acks=all) -> consume 5 (ConsoleConsumer) -> end offsets sum to 1000 (GetOffsetShell)
# -> down -> up (data survives) -> down --wipe. Also `kcat -L` if kcat is installed.
# Env: SMOKE_PORT (19092), SMOKE_CONTROLLER_PORT (19093).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KAFKA_PORT=${SMOKE_PORT:-19092}
export KAFKA_CONTROLLER_PORT=${SMOKE_CONTROLLER_PORT:-19093}
export KAFKA_SASL_PORT=${SMOKE_SASL_PORT:-19094}
KAFKA_DATA=$(mktemp -d "${TMPDIR:-/tmp}/kafka-smoke.XXXXXX")
export KAFKA_DATA
B=127.0.0.1:$KAFKA_PORT
T=user-behaviors-smoke
run() { "$here/run-class.sh" "$@"; }
passed=0 failed=0
check() { # check <name> <command...>
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
trap '"$here/down.sh" --wipe >/dev/null 2>&1 || true' EXIT

offset_sum() {
  run org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$B" --topic "$T" |
    awk -F: '{s += $NF} END {print s + 0}'
}

check "up.sh (cold)" "$here/up.sh"
check "up.sh again is a no-op" "$here/up.sh"
check "TopicCommand --create 12 partitions" \
  run org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" --create --topic "$T" --partitions 12 --replication-factor 1
check "topic has 12 partitions" \
  bash -c "'$here/run-class.sh' org.apache.kafka.tools.TopicCommand --bootstrap-server '$B' --describe --topic '$T' | grep -q 'PartitionCount: 12'"
check "ProducerPerformance 1000 x 400 B gzip acks=all" \
  run org.apache.kafka.tools.ProducerPerformance --topic "$T" --num-records 1000 --record-size 400 \
  --throughput -1 --command-property "bootstrap.servers=$B" acks=all compression.type=gzip
n=$(run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$B" --topic "$T" \
  --from-beginning --max-messages 5 --timeout-ms 30000 --formatter-property print.key=true 2>/dev/null | wc -l)
check "ConsoleConsumer read 5 records (got $n)" test "$n" -eq 5
s=$(offset_sum)
check "GetOffsetShell end offsets sum to 1000 (got $s)" test "$s" -eq 1000
if command -v kcat >/dev/null; then
  check "kcat -L sees the topic" bash -c "timeout 20 kcat -b '$B' -L -t '$T' | grep -q 'with 12 partitions'"
fi
check "down.sh" "$here/down.sh"
check "up.sh (restart, data kept)" "$here/up.sh"
s=$(offset_sum)
check "offsets survive restart (got $s)" test "$s" -eq 1000
check "down.sh --wipe" "$here/down.sh" --wipe
check "data dir removed" test ! -e "$KAFKA_DATA"
echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
