#!/usr/bin/env bash
# `make artifacts`: everything other repositories install, in dist/, stamped with the one version
# (package.json "version"):
#   dist/npm/*.tgz          the schema and SDK npm packages (scripts/artifacts/npm.ts)
#   dist/python/*.whl       scripts/artifacts/python.sh
#   dist/go/                scripts/artifacts/go.sh
#   dist/jsonschema/*.json  dist/openapi.json  dist/buf/recommender.binpb (FileDescriptorSet)
#   dist/sql/clickhouse/ dist/sql/flink/  the generated ClickHouse and Flink SQL (gen/clickhouse, gen/flink)
#   dist/VERSION  dist/SHA256SUMS
# Refuses (exit 1) when gen/ is stale (scripts/check-generated.sh) or when the protos break
# compatibility with the last release without a major version bump (scripts/artifacts/release-check.sh).
# Reproducible: mtimes come from SOURCE_DATE_EPOCH (the last commit's time), listings are sorted.
#
# --reuse (the consumer tests): keep dist/ when it was built from the same inputs (dist/.inputs).
# Builds are serialized by a lock on dist/.lock, so parallel test files build once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
cd "$PROJECT_ROOT"
start=$(date +%s%N)
version="$(node -p 'require("./package.json").version')"
dist="$PROJECT_ROOT/dist"
mkdir -p "$dist"
exec 9>"$dist/.lock"
flock 9

# What dist/ is built from: every tracked or untracked (not ignored) file except tests, benchmarks and docs.
inputs="$(git ls-files -z --cached --others --exclude-standard -- . ':!:test' ':!:bench' ':!:*.md' ':!:node_modules' ':!:.tools' |
  while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
if [ "${1:-}" = "--reuse" ] && [ -f "$dist/.inputs" ] && [ "$(cat "$dist/.inputs")" = "$inputs" ]; then
  echo "artifacts: dist/ is up to date ($version)"
  exit 0
fi
rm -f "$dist/.inputs"

./scripts/artifacts/release-check.sh "$version"
./scripts/check-generated.sh >/dev/null || { echo "make artifacts: refused, gen/ is stale — run 'make generate' and commit gen/ first" >&2; exit 1; }

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
rm -rf "$dist/npm" "$dist/python" "$dist/go" "$dist/jsonschema" "$dist/buf" "$dist/sql" "$dist/openapi.json" "$dist/VERSION" "$dist/SHA256SUMS"
mkdir -p "$dist/buf"

buf build -o "$dist/buf/recommender.binpb"
tsx scripts/artifacts/npm.ts "$version" "$dist"
bash scripts/artifacts/python.sh "$version" "$dist/python"
bash scripts/artifacts/go.sh "$version" "$dist/go"
# The downstream DDL as generated (each file names its generator and proto): the ClickHouse table,
# Kafka engine, migrations and queries, and the Flink source table and example job.
mkdir -p "$dist/sql"
cp -R gen/clickhouse "$dist/sql/clickhouse"
cp -R gen/flink "$dist/sql/flink"

echo "$version" > "$dist/VERSION"
(cd "$dist" && find . -type f ! -name SHA256SUMS ! -name '.*' -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)
echo "$inputs" > "$dist/.inputs"
echo "artifacts $version in dist/ ($(( ($(date +%s%N) - start) / 1000000 )) ms):"
(cd "$dist" && find . -maxdepth 2 \( -name '*.tgz' -o -name '*.whl' -o -name '*.binpb' -o -name openapi.json \) -printf '  %P %s bytes\n' | LC_ALL=C sort)
echo "  jsonschema/ $(find "$dist/jsonschema" -type f | wc -l) files, $(du -sb "$dist/jsonschema" | cut -f1) bytes"
echo "  sql/ $(find "$dist/sql" -type f | wc -l) files, $(du -sb "$dist/sql" | cut -f1) bytes"
if [ -d "$dist/go" ]; then echo "  go/ $(find "$dist/go" -type f | wc -l) files, $(du -sb "$dist/go" | cut -f1) bytes"; fi
