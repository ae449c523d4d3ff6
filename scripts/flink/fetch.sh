#!/usr/bin/env bash
# Resolve the local Flink pinned in scripts/flink/pom.xml (SQL planner, mini-cluster, Kafka
# connector, JSON format) from Maven Central into $FLINK_HOME/libs (default <repo>/.tools/flink/libs).
# Idempotent (stamp = the pom's hash); see scripts/maven/fetch-jars.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLINK_HOME=${FLINK_HOME:-$here/../../.tools/flink}
exec "$here/../maven/fetch-jars.sh" "$here/pom.xml" "$FLINK_HOME/libs" "$@"
