#!/usr/bin/env bash
# The one gen/ freshness check (make check-generated, scripts/test.sh, make artifacts): generates
# gen/ from the current tree (protos, plugins, generator scripts) in a temp copy and fails when the
# result differs from gen/ here. The copy keeps this tree's gen/ untouched, so the check is safe
# while tests read gen/ and never rewrites a developer's files.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Tracked and untracked (not ignored) files as they are now, without gen/ (and without
# node_modules/.tools even where they are symlinks, which .gitignore's "dir/" patterns miss).
git ls-files -z --cached --others --exclude-standard -- . ':!:gen' ':!:node_modules' ':!:.tools' |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$tmp"
# The ClickHouse column manifests are an input too: the history new columns are diffed against.
mkdir -p "$tmp/gen/clickhouse"
cp gen/clickhouse/*.columns.json "$tmp/gen/clickhouse/" 2>/dev/null || true
# Installed tools and caches (node_modules, .tools: proto deps, pinned generators) are shared.
ln -s "$PROJECT_ROOT/node_modules" "$tmp/node_modules"
ln -s "$PROJECT_ROOT/.tools" "$tmp/.tools"
"$tmp/scripts/generate.sh" >/dev/null
if ! diff -r --brief "$tmp/gen" gen >&2; then
  echo "gen/ is stale: run 'make generate' and commit the result" >&2
  exit 1
fi
echo "gen/ is up to date"
