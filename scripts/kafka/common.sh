# shellcheck shell=bash disable=SC2034
# Shared settings for scripts/kafka/*.sh. Source it; do not execute it.
# Every value can be overridden from the environment.
KAFKA_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_REPO_ROOT=$(cd "$KAFKA_SCRIPT_DIR/../.." && pwd)

KAFKA_HOME=${KAFKA_HOME:-$KAFKA_REPO_ROOT/.tools/kafka}      # jars go to $KAFKA_HOME/libs
KAFKA_DATA=${KAFKA_DATA:-$KAFKA_REPO_ROOT/.tools/kafka-data} # config, logs, pid, topic data
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
# Second listener: SASL_SSL with SCRAM-SHA-512 (the seed's production protocol) and the
# StandardAuthorizer enforcing per-tenant ACLs there. KAFKA_SASL_SSL=0 turns both off.
KAFKA_SASL_SSL=${KAFKA_SASL_SSL:-1}
KAFKA_SASL_PORT=${KAFKA_SASL_PORT:-9094}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}   # seconds up.sh waits for readiness
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}     # seconds down.sh waits before SIGKILL
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_TOOLS_HEAP_OPTS=${KAFKA_TOOLS_HEAP_OPTS:--Xmx256m}

KAFKA_HOST=127.0.0.1
KAFKA_BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT
KAFKA_LIBS=$KAFKA_HOME/libs
KAFKA_CONFIG=$KAFKA_DATA/config/server.properties
KAFKA_LOG_DIR=$KAFKA_DATA/logs          # broker's own log4j output (server.log, kafka.out)
KAFKA_KRAFT_DIR=$KAFKA_DATA/kraft        # log.dirs: topic partitions + __cluster_metadata
KAFKA_PID_FILE=$KAFKA_DATA/kafka.pid
KAFKA_SECRETS_DIR=$KAFKA_DATA/secrets    # CA, broker keystore, SCRAM passwords (generated once per data dir)
KAFKA_CA_FILE=$KAFKA_SECRETS_DIR/ca.pem   # what a SASL_SSL client trusts
# Client settings for the SASL_SSL listener as the server's principal (User:tracking-server):
# Java client properties, and the same as environment variables for `tracking serve`.
KAFKA_CLIENT_PROPERTIES=$KAFKA_DATA/client-sasl-ssl.properties
KAFKA_CLIENT_ENV=$KAFKA_DATA/client-sasl-ssl.env
KAFKA_SERVER_PRINCIPAL=${KAFKA_SERVER_PRINCIPAL:-tracking-server}

kafka_log() { echo "[kafka] $*" >&2; }

# 0 if the pid file names a live java process.
kafka_pid_alive() {
  [ -f "$KAFKA_PID_FILE" ] || return 1
  local pid
  pid=$(cat "$KAFKA_PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be our broker.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
}

# 0 if something accepts TCP connections on host:port.
kafka_port_open() {
  (exec 3<>"/dev/tcp/$KAFKA_HOST/$1") 2>/dev/null
}
