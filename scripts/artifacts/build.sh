#!/usr/bin/env bash
# `make artifacts`: everything other repositories install, in dist/, stamped with the one version
# (package.json "version"):
#   dist/npm/*.tgz          the schema and SDK npm packages (scripts/artifacts/npm.ts)
#   dist/python/*.whl       scripts/artifacts/python.sh, when present
#   dist/go/                scripts/artifacts/go.sh, when present
#   dist/jsonschema/*.json  dist/openapi.json  dist/buf/recommender.binpb (FileDescriptorSet)
#   dist/VERSION  dist/SHA256SUMS
# Refuses (exit 1) when gen/ is stale (scripts/check-generated.sh) or when the protos break
# compatibility with the last release without a major version bump (scripts/artifacts/release-check.sh).
# Reproducible: mtimes come from SOURCE_DATE_EPOCH (the last commit's time), listings are sorted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
cd "$PROJECT_ROOT"
start=$(date +%s%N)
version="$(node -p 'require("./package.json").version')"

./scripts/artifacts/release-check.sh "$version"
./scripts/check-generated.sh >/dev/null || { echo "make artifacts: refused, gen/ is stale — run 'make generate' and commit gen/ first" >&2; exit 1; }

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
dist="$PROJECT_ROOT/dist"
rm -rf "$dist/npm" "$dist/python" "$dist/go" "$dist/jsonschema" "$dist/buf" "$dist/openapi.json" "$dist/VERSION" "$dist/SHA256SUMS"
mkdir -p "$dist/buf"

buf build -o "$dist/buf/recommender.binpb"
tsx scripts/artifacts/npm.ts "$version" "$dist"
for lang in python go; do
  builder="scripts/artifacts/$lang.sh"
  if [ -x "$builder" ]; then
    "$builder" "$version" "$dist/$lang"
  else
    echo "artifacts: no $builder in this tree; dist/$lang not built"
  fi
done

echo "$version" > "$dist/VERSION"
(cd "$dist" && find . -type f ! -name SHA256SUMS ! -path './.*' -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)
echo "artifacts $version in dist/ ($(( ($(date +%s%N) - start) / 1000000 )) ms):"
(cd "$dist" && find . -maxdepth 2 \( -name '*.tgz' -o -name '*.whl' -o -name '*.binpb' -o -name openapi.json \) -printf '  %P %s bytes\n' | LC_ALL=C sort)
echo "  jsonschema/ $(find "$dist/jsonschema" -type f | wc -l) files, $(du -sb "$dist/jsonschema" | cut -f1) bytes"
if [ -d "$dist/go" ]; then echo "  go/ $(find "$dist/go" -type f | wc -l) files, $(du -sb "$dist/go" | cut -f1) bytes"; fi
