#!/usr/bin/env bash
# Stop the FerretDB started by up.sh: SIGTERM, wait up to $MONGO_STOP_TIMEOUT (15 s), then
# SIGKILL. Idempotent.
#   down.sh          stop, keep the data in $MONGO_DATA
#   down.sh --wipe   stop and delete $MONGO_DATA
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wipe=0
case "${1:-}" in
  "") ;;
  --wipe) wipe=1 ;;
  *) echo "usage: $0 [--wipe]" >&2; exit 2 ;;
esac

if mongo_pid_alive; then
  pid=$(cat "$MONGO_PID_FILE")
  mongo_log "stopping FerretDB (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(date +%s) + MONGO_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    mongo_log "still running after ${MONGO_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  mongo_log "stopped"
else
  mongo_log "not running"
fi
rm -f "$MONGO_PID_FILE"

if [ "$wipe" = 1 ]; then
  case "$MONGO_DATA" in
    "" | / | "$HOME" | "$MONGO_REPO_ROOT") mongo_log "refusing to wipe MONGO_DATA='$MONGO_DATA'"; exit 1 ;;
  esac
  rm -rf "$MONGO_DATA"
  mongo_log "wiped $MONGO_DATA"
fi
