#!/usr/bin/env bash
# Idempotent project setup: Node (see env.sh), npm packages, third-party proto imports.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
stamp=node_modules/.setup-stamp
want="$(node -p process.version) $(sha1sum package-lock.json | cut -c1-40)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
# google/api/{annotations,http}.proto come from the npm package google-proto-files; they are
# copied to a git-ignored folder that buf.yaml lists as a module, never committed.
deps=.tools/proto-deps/google/api
if [ ! -f "$deps/http.proto" ]; then
  mkdir -p "$deps"
  cp node_modules/google-proto-files/google/api/annotations.proto node_modules/google-proto-files/google/api/http.proto "$deps/"
fi
