#!/usr/bin/env bash
# Resolve the Kafka broker + CLI tool jars pinned in pom.xml from Maven Central
# and copy them into $KAFKA_HOME/libs (default <repo>/.tools/kafka/libs).
# Idempotent: skips all work while $KAFKA_HOME/libs/.stamp matches pom.xml's hash
# (scripts/maven/fetch-jars.sh, shared with scripts/flink/fetch.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

exec "$KAFKA_REPO_ROOT/scripts/maven/fetch-jars.sh" "$KAFKA_SCRIPT_DIR/pom.xml" "$KAFKA_LIBS" "$@"
