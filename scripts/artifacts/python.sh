#!/usr/bin/env bash
# scripts/artifacts/python.sh <version> <outdir>: builds the one Python wheel of the artifacts,
# <outdir>/recommender_behavior_tracking-<version>-py3-none-any.whl, from
#   sdk/python/          the hand-written package (recommender_behavior_tracking) and pyproject.toml
#   gen/python/          the generated protobuf/gRPC modules (→ recommender/…)
#   gen/jsonschema/      the JSON Schemas (→ recommender_behavior_tracking/schemas/, package data)
# staged into a temporary directory with <version> stamped in, built by hatchling (PEP 517) through
# `python -m build` in a cached build venv (.tools/python-build; pip cache .tools/pip-cache).
# Reproducible: SOURCE_DATE_EPOCH (default: the last commit's time) fixes the zip mtimes, hatchling
# sorts the entries, and the staged files get fixed modes; two builds are byte-identical.
# Called by scripts/artifacts/build.sh (`make artifacts`), which decides when to rebuild.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

[ $# -eq 2 ] || { echo "usage: $0 <version> <outdir>" >&2; exit 2; }
VERSION="$1"
mkdir -p "$2"
OUTDIR="$(cd "$2" && pwd)"

BUILD_PINS="build==1.6.1 hatchling==1.33.0"
VENV="$ROOT/.tools/python-build"
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || { echo "artifacts/python: $PY not found (install python3 and python3-venv)" >&2; exit 1; }
stamp="$VENV/.pins-stamp"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$BUILD_PINS" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" \
    || { rm -rf "$VENV"; echo "artifacts/python: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  PIP_CACHE_DIR="$ROOT/.tools/pip-cache" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $BUILD_PINS \
    || { echo "artifacts/python: pip install $BUILD_PINS failed (PyPI unreachable?)" >&2; exit 1; }
  echo "$BUILD_PINS" > "$stamp"
fi
for need in gen/python/recommender/v1/behavior_pb2.py gen/jsonschema/recommender.v1.BehaviorEvent.schema.json; do
  [ -f "$need" ] || { echo "artifacts/python: $need missing: run make generate" >&2; exit 1; }
done

stage="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$stage" "$log"' EXIT
cp sdk/python/pyproject.toml sdk/python/README.md "$stage/"
mkdir -p "$stage/src"
cp -r sdk/python/src/recommender_behavior_tracking "$stage/src/"
cp -r gen/python/recommender "$stage/src/"
mkdir -p "$stage/src/recommender_behavior_tracking/schemas"
cp gen/jsonschema/*.json "$stage/src/recommender_behavior_tracking/schemas/"
find "$stage" -name __pycache__ -prune -exec rm -rf {} +
# The version: pyproject.toml's placeholder, and __version__ for callers.
sed -i "s/^version = \"0.0.0\"$/version = \"$VERSION\"/" "$stage/pyproject.toml"
grep -q "^version = \"$VERSION\"$" "$stage/pyproject.toml" || { echo "artifacts/python: could not stamp the version" >&2; exit 1; }
printf '"""Version of this distribution (package.json "version" of the schema repository)."""\n\n__version__ = "%s"\n' "$VERSION" \
  > "$stage/src/recommender_behavior_tracking/_version.py"
find "$stage" -type d -exec chmod 755 {} + && find "$stage" -type f -exec chmod 644 {} +

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
rm -f "$OUTDIR"/recommender_behavior_tracking-*.whl
"$VENV/bin/python" -m build --wheel --no-isolation --outdir "$OUTDIR" "$stage" >"$log" 2>&1 \
  || { cat "$log" >&2; echo "artifacts/python: wheel build failed" >&2; exit 1; }
ls "$OUTDIR"/recommender_behavior_tracking-*.whl
