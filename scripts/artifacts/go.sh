#!/usr/bin/env bash
# scripts/artifacts/go.sh <version> <outdir>: assembles the Go module
# github.com/recommender/behavior-tracking-go (sdk/go/README.md) into <outdir> (dist/go):
#   sdk/go/**            hand-written: go.mod, go.sum, README, schema.Validate, kafka/murmur2,
#                        kafka/saramapartitioner, their tests
#   gen/go/**            generated types and Connect stubs (make generate)
#   gen/jsonschema/*     → schema/jsonschema/, embedded by package schema (//go:embed cannot reach
#                        outside the module directory, so they are copied here rather than
#                        committed twice)
#   VERSION, schema/version.go   stamped with <version>; from major version 2 on the module
#                        path gets its /vN suffix (imports rewritten), as Go requires
# Reproducible: same inputs, same bytes, and every mtime set to SOURCE_DATE_EPOCH (default: the
# last commit's time) so archives of the directory are byte-identical too.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <version> <outdir>" >&2
  exit 2
fi
version="$1"
out="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
for need in gen/go/recommender/v1/behavior.pb.go gen/jsonschema/recommender.v1.BehaviorEvent.schema.json; do
  if [ ! -f "$need" ]; then
    echo "go.sh: $need is missing: run make generate first" >&2
    exit 1
  fi
done
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

rm -rf "$out"
mkdir -p "$out"
cp -R sdk/go/. "$out/"
cp -R gen/go/. "$out/"
mkdir -p "$out/schema/jsonschema"
cp gen/jsonschema/*.json "$out/schema/jsonschema/"
# Go's semantic import versioning: from v2 on, the module path ends in /vN (go get refuses a
# v2.x.y of a path without it), so every import of the module's own packages is rewritten too.
base="$(sed -n 's/^module //p' sdk/go/go.mod)"
major="${version%%.*}"
if [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge 2 ]; then
  path="$base/v$major"
  grep -rl --include='*.go' --include=go.mod "$base" "$out" | LC_ALL=C sort | while read -r f; do
    sed -i "s#\"$base/#\"$path/#g; s#^module $base\$#module $path#" "$f"
  done
  grep -q "^module $path$" "$out/go.mod" || { echo "go.sh: could not set the module path to $path" >&2; exit 1; }
fi
printf '%s\n' "$version" > "$out/VERSION"
sed -i "s/^const Version = \".*\"$/const Version = \"$version\"/" "$out/schema/version.go"
grep -q "^const Version = \"$version\"$" "$out/schema/version.go" || { echo "go.sh: could not stamp schema/version.go" >&2; exit 1; }
find "$out" -exec touch -h -d "@$epoch" {} +
echo "go.sh: wrote $out (module $(sed -n 's/^module //p' "$out/go.mod"), version $version)"
