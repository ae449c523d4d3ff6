#!/usr/bin/env bash
# The one gen/ freshness check (make check-generated, scripts/test.sh, make artifacts):
# regenerates gen/ from the protos and fails when the result differs from what git has,
# i.e. the protos or generators changed without `make generate` + commit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
./scripts/generate.sh
# -N: new generated files count as differences too.
git add -N gen
if ! git diff --exit-code --stat -- gen; then
  echo "gen/ is stale: run 'make generate' and commit the result" >&2
  exit 1
fi
