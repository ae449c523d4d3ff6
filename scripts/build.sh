#!/usr/bin/env bash
# `make build`: the server compiled to plain JavaScript in build/ (gitignored), so production
# runs `node build/server/main.js` (bin/tracking does) without tsx.
#
# esbuild bundles server/main.ts with everything it imports from server/, gen/ and sdk/ into one
# ESM file; npm packages stay imports (node_modules is needed at run time, as for the sources:
# `npm ci --omit=dev` in an image). The Kafka producer thread's entry is a second bundle next to
# it, where sdk/common/kafka-publisher-thread.ts looks for it (`./kafka-publisher-worker.js`
# beside import.meta.url), and the API reference the server reads at run time
# (server/app.ts: ../gen/openapi/ from import.meta.url) is copied to build/gen/openapi/, the
# inspector's page (./inspector/static/) to build/server/inspector/static/.
# Source maps are written beside the bundles (TRACKING_NODE_FLAGS=--enable-source-maps maps
# stack traces back to the .ts files).
#
# The build is written to a temporary directory and swapped in, so a server running from
# build/ never sees a half-written bundle. The SDK's JavaScript for consumers is not built here
# but by `make artifacts` (scripts/artifacts/npm.ts, the @recommender/behavior-sdk package).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
out=build
tmp="$(mktemp -d "$PROJECT_ROOT/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
esbuild server/main.ts sdk/common/kafka-publisher-worker.ts \
  --bundle --platform=node --format=esm --target=node22 --packages=external \
  --keep-names --sourcemap --entry-names='[name]' --outdir="$tmp/server" --log-level=warning
mkdir -p "$tmp/gen/openapi"
cp gen/openapi/openapi.json gen/openapi/docs.html "$tmp/gen/openapi/"
# The inspector's page files (server/app.ts: ./inspector/static/ from import.meta.url). Swagger UI
# (/api/v1/docs/try) is read from node_modules/swagger-ui-dist, which stays external like every npm package.
mkdir -p "$tmp/server/inspector"
cp -r server/inspector/static "$tmp/server/inspector/"
rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
chmod 755 "$tmp"
mv "$tmp" "$out"
rm -rf "$out.old"
echo "build: $(du -sh "$out" | cut -f1) in $out/ (run: bin/tracking serve, or node $out/server/main.js serve)"
