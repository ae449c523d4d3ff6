# shellcheck shell=bash disable=SC2034
# Shared settings for scripts/mongo/*.sh (FerretDB: the MongoDB wire protocol on SQLite).
# Source it; do not execute it. Every value can be overridden from the environment.
MONGO_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MONGO_REPO_ROOT=$(cd "$MONGO_SCRIPT_DIR/../.." && pwd)

FERRETDB_VERSION=${FERRETDB_VERSION:-v1.24.2}
FERRETDB_HOME=${FERRETDB_HOME:-$MONGO_REPO_ROOT/.tools/ferretdb}     # the built binary
FERRETDB_BIN=${FERRETDB_BIN:-$FERRETDB_HOME/ferretdb-$FERRETDB_VERSION}
MONGO_DATA=${MONGO_DATA:-$MONGO_REPO_ROOT/.tools/mongo-data}          # SQLite files, log, pid
MONGO_PORT=${MONGO_PORT:-27017}
MONGO_HOST=127.0.0.1
MONGO_START_TIMEOUT=${MONGO_START_TIMEOUT:-30}  # seconds up.sh waits for readiness
MONGO_STOP_TIMEOUT=${MONGO_STOP_TIMEOUT:-15}    # seconds down.sh waits before SIGKILL
MONGO_PID_FILE=$MONGO_DATA/ferretdb.pid
MONGO_LOG_FILE=$MONGO_DATA/ferretdb.log
MONGO_URI=mongodb://$MONGO_HOST:$MONGO_PORT/tracking

mongo_log() { echo "[mongo] $*" >&2; }

# 0 if the pid file names a live FerretDB process.
mongo_pid_alive() {
  [ -f "$MONGO_PID_FILE" ] || return 1
  local pid
  pid=$(cat "$MONGO_PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be our server.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'ferretdb' || return 1
}

# 0 if something accepts TCP connections on host:port.
mongo_port_open() {
  (exec 3<>"/dev/tcp/$MONGO_HOST/$1") 2>/dev/null
}
