#!/usr/bin/env bash
# Regenerates test/kafka/fixtures/murmur2-vectors.json with Kafka's Java client (Utils.murmur2,
# BuiltInPartitioner.partitionForKey). Needs Java 17+ and the jars from scripts/kafka/fetch.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[ -f .tools/kafka/libs/.stamp ] || scripts/kafka/fetch.sh
java -cp '.tools/kafka/libs/*' test/kafka/Murmur2Vectors.java > test/kafka/fixtures/murmur2-vectors.json.tmp
mv test/kafka/fixtures/murmur2-vectors.json.tmp test/kafka/fixtures/murmur2-vectors.json
echo "wrote test/kafka/fixtures/murmur2-vectors.json"
