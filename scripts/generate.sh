#!/usr/bin/env bash
# `make generate`: regenerates all of gen/ from the protos, from scratch, with the pinned buf,
# our plugins and the pinned per-language generators. gen/ is never edited by hand.
#   1. buf.gen.bootstrap.yaml — the TS types our own plugins import to read custom options
#   2. buf.gen.yaml           — TS types, JSON Schemas, validators, handlers, templates, OpenAPI,
#                               ClickHouse DDL
#   3. per-language steps     — scripts/generate-<lang>.sh, each installing its pinned generator
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
# The ClickHouse column manifests are the tables' history (codegen/clickhouse/manifest.ts): the
# ClickHouse plugin diffs the proto against them to write migrations, so they outlive the wipe.
keep="$(mktemp -d)"
trap 'rm -rf "$keep"' EXIT
cp gen/clickhouse/*.columns.json "$keep/" 2>/dev/null || true
rm -rf gen
mkdir -p gen/clickhouse
cp "$keep"/*.columns.json gen/clickhouse/ 2>/dev/null || true
buf generate --template buf.gen.bootstrap.yaml
buf generate
for step in scripts/generate-*.sh; do
  [ -e "$step" ] || continue
  "$step"
done
echo "generated: $(find gen -type f | wc -l) files"
