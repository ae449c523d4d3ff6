#!/usr/bin/env bash
# buf breaking against an earlier commit (default HEAD~1). The google/api imports live in a
# git-ignored folder, so the earlier tree is checked out into a temp dir and given the same
# imports; that workspace is the comparison input.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
ref="${1:-HEAD~1}"
if ! git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
  echo "breaking: no commit $ref to compare against; skipped"
  exit 0
fi
if ! git cat-file -e "$ref:proto" 2>/dev/null; then
  echo "breaking: $ref has no proto/; skipped"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git archive "$ref" proto buf.yaml | tar -x -C "$tmp"
mkdir -p "$tmp/.tools"
cp -r .tools/proto-deps "$tmp/.tools/"
buf breaking --against "$tmp"
echo "breaking: no breaking changes against $ref"
