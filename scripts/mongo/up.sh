#!/usr/bin/env bash
# Start FerretDB (the MongoDB wire protocol on SQLite, --handler=sqlite) in the background on
# $MONGO_HOST:$MONGO_PORT (default 127.0.0.1:27017) and wait until it answers. Builds the
# binary first if needed (build.sh). Idempotent: exits 0 at once if ours is already running.
# Then: tracking serve --config-store mongodb://127.0.0.1:27017/tracking
#
# Env (see common.sh): MONGO_PORT (27017), MONGO_DATA (.tools/mongo-data), MONGO_START_TIMEOUT (30 s).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if mongo_pid_alive && mongo_port_open "$MONGO_PORT"; then
  mongo_log "already running (pid $(cat "$MONGO_PID_FILE"), $MONGO_URI)"
  exit 0
fi
bin=$("$MONGO_SCRIPT_DIR/build.sh")
if ! mongo_pid_alive; then
  rm -f "$MONGO_PID_FILE"
  if mongo_port_open "$MONGO_PORT"; then
    mongo_log "port $MONGO_PORT on $MONGO_HOST is already in use by another process; set MONGO_PORT"
    exit 1
  fi
  mkdir -p "$MONGO_DATA/sqlite"
  # --debug-addr=- : no debug HTTP listener (it would take port 8088); no telemetry.
  nohup "$bin" --handler=sqlite --sqlite-url="file:$MONGO_DATA/sqlite/" \
    --listen-addr="$MONGO_HOST:$MONGO_PORT" --state-dir="$MONGO_DATA" --debug-addr=- \
    --telemetry=disable --log-level=warn >>"$MONGO_LOG_FILE" 2>&1 </dev/null &
  echo $! >"$MONGO_PID_FILE"
fi
deadline=$(($(date +%s) + MONGO_START_TIMEOUT))
until mongo_port_open "$MONGO_PORT"; do
  if ! mongo_pid_alive; then
    mongo_log "FerretDB exited during start; last log lines:"
    tail -n 20 "$MONGO_LOG_FILE" >&2 || true
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    mongo_log "not ready after ${MONGO_START_TIMEOUT}s (log: $MONGO_LOG_FILE)"
    exit 1
  fi
  sleep 0.1
done
mongo_log "ready (pid $(cat "$MONGO_PID_FILE")): $MONGO_URI"
