#!/usr/bin/env bash
# Stop the broker started by up.sh: SIGTERM (clean controlled shutdown), wait up to
# $KAFKA_STOP_TIMEOUT (30 s), then SIGKILL. Idempotent.
#   down.sh          stop, keep topic data in $KAFKA_DATA
#   down.sh --wipe   stop and delete $KAFKA_DATA (next up.sh formats a fresh cluster)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wipe=0
case "${1:-}" in
  "") ;;
  --wipe) wipe=1 ;;
  *) echo "usage: $0 [--wipe]" >&2; exit 2 ;;
esac

if kafka_pid_alive; then
  pid=$(cat "$KAFKA_PID_FILE")
  t0=$(date +%s)
  kafka_log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((t0 + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kafka_log "still running after ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  kafka_log "stopped in $(($(date +%s) - t0))s"
else
  kafka_log "not running"
fi
rm -f "$KAFKA_PID_FILE"

if [ "$wipe" = 1 ]; then
  case "$KAFKA_DATA" in
    "" | / | "$HOME" | "$KAFKA_REPO_ROOT") kafka_log "refusing to wipe KAFKA_DATA='$KAFKA_DATA'"; exit 1 ;;
  esac
  if [ -e "$KAFKA_DATA" ]; then
    rm -rf "$KAFKA_DATA"
    kafka_log "wiped $KAFKA_DATA"
  fi
fi
