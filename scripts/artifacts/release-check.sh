#!/usr/bin/env bash
# release-check.sh <version>: refuses (exit 1) when the protos break compatibility (buf breaking,
# scripts/buf-breaking.sh) with the last release while <version> keeps that release's major version.
#
# The last release is, in order: $RELEASE_REF if set; else the newest tag v<semver> reachable from
# HEAD; else the commit just before package.json's "version" was last changed (the tree that was
# released as the previous version). "Major" follows npm caret ranges: x for x.y.z with x ≥ 1, 0.y
# for 0.y.z — so 0.1.0 → 0.2.0 may break, 0.1.0 → 0.1.1 may not.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
cd "$PROJECT_ROOT"
version="${1:?usage: release-check.sh <version>}"

base="${RELEASE_REF:-}"
if [ -z "$base" ]; then base="$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null || true)"; fi
if [ -z "$base" ]; then
  bump="$(git log -1 --format=%H -G'^[[:space:]]*"version"[[:space:]]*:' -- package.json)"
  if [ -z "$bump" ] || ! git rev-parse --quiet --verify "$bump^{commit}" >/dev/null || ! git rev-parse --quiet --verify "$bump^" >/dev/null; then
    echo "release-check: no earlier release to compare against"
    exit 0
  fi
  base="$bump^"
fi
if ! base_version="$(git show "$base:package.json" 2>/dev/null | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).version))')" || [ -z "$base_version" ]; then
  echo "release-check: $base has no package.json version; nothing to compare"
  exit 0
fi

major() { case "$1" in 0.*) echo "$1" | cut -d. -f1,2 ;; *) echo "$1" | cut -d. -f1 ;; esac; }

if report="$(./scripts/buf-breaking.sh "$base" 2>&1)"; then
  echo "release-check: no breaking proto changes since $base ($base_version)"
  exit 0
fi
if [ "$(major "$version")" = "$(major "$base_version")" ]; then
  {
    echo "$report"
    echo "make artifacts: refused — the protos have breaking changes (above) against the last release $base ($base_version),"
    echo "  and package.json's version $version keeps its major version $(major "$base_version")."
    echo "  Either make the change compatible, or release it as a new major version (bump package.json \"version\")."
  } >&2
  exit 1
fi
echo "release-check: breaking proto changes since $base ($base_version), released as new major version $version"
