#!/usr/bin/env bash
# The whole suite, as CI runs it: Biome and proto lint, proto breaking check, gen/ freshness, types,
# then every vitest test with a real Kafka broker started (and stopped) by our scripts, and
# the benchmark harness in smoke mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
./scripts/setup.sh
./scripts/system-deps.sh

# The Makefile owns these recipes; the suite runs its targets rather than copies of them.
echo "== lint: biome, buf lint, buf format"
make --no-print-directory lint
echo "== buf breaking"
make --no-print-directory breaking
echo "== gen/ is up to date"
make --no-print-directory check-generated
echo "== typecheck"
make --no-print-directory typecheck
echo "== kafka"
started_kafka=0
if ! (exec 3<>/dev/tcp/127.0.0.1/"${KAFKA_PORT:-9092}") 2>/dev/null; then
  ./scripts/kafka/up.sh
  started_kafka=1
fi
# Quiet, so the summary line stays the last thing printed.
cleanup() { if [ "$started_kafka" = 1 ]; then ./scripts/kafka/down.sh --wipe >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
echo "== ferretdb (MongoDB-compatible server for the config-store tests; built once into .tools/ferretdb)"
./scripts/mongo/build.sh >/dev/null
echo "== tests"
report=.tools/vitest-report.json
rm -f "$report"
status=0
vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# Keeps the benchmark harness working (no throughput assertions; see BENCHMARKS.md).
if [ "$status" = 0 ] && [ $# -eq 0 ]; then
  echo "== bench smoke"
  make --no-print-directory bench-smoke || status=$?
fi
if [ -f "$report" ]; then
  # The plain closing line CI reads: "N passed, N failed".
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));' "$report"
fi
exit "$status"
