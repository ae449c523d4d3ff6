#!/usr/bin/env bash
# Entry of `make bench` / `make bench-smoke`: a thin wrapper around bench/orchestrator.ts.
#   bench/run.sh [--smoke] [--profile] [--only rest,grpc,batch,workers,sasl,quota,tracker,perftest,bare,baseline] [--duration S] [--quota R:Q]
# Results: bench/results/latest.{json,md}; profiles (--profile): bench/results/prof/*.cpuprofile
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
command -v h2load >/dev/null 2>&1 || { echo "bench: h2load missing; run scripts/system-deps.sh (Debian package nghttp2-client)" >&2; exit 1; }
exec node --import tsx bench/orchestrator.ts "$@"
