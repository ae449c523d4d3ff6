#!/usr/bin/env bash
# Builds FerretDB ($FERRETDB_VERSION, Apache-2.0) with the machine's Go from the Go module
# proxy into $FERRETDB_BIN; does nothing when that binary exists. Prints the binary's path.
#
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds a binary that panics
# at start: the module's build/version/version.txt is empty (it is filled by their release
# tooling). So the module source is copied out of the (read-only) module cache, the file is
# set to the version, and ./cmd/ferretdb is built from there (about 75 s the first time).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ -x "$FERRETDB_BIN" ]; then
  echo "$FERRETDB_BIN"
  exit 0
fi
command -v go >/dev/null || { mongo_log "go is required to build FerretDB (Go >= 1.24)"; exit 1; }
mkdir -p "$FERRETDB_HOME"
# Test files start in parallel: one builds, the others wait for it and reuse the binary.
exec 9>"$FERRETDB_HOME/.build.lock"
flock 9
if [ -x "$FERRETDB_BIN" ]; then
  echo "$FERRETDB_BIN"
  exit 0
fi
t0=$(date +%s)
mongo_log "building FerretDB $FERRETDB_VERSION (first time only, ~75 s)"
module_dir=$(cd "$FERRETDB_HOME" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$module_dir" ] && [ -d "$module_dir" ] || { mongo_log "go mod download found no source dir"; exit 1; }
src=$(mktemp -d "$FERRETDB_HOME/src.XXXXXX")
trap 'chmod -R u+w "$src" 2>/dev/null; rm -rf "$src"' EXIT
cp -R "$module_dir/." "$src/"
chmod -R u+w "$src"
printf '%s' "$FERRETDB_VERSION" >"$src/build/version/version.txt"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb)
mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
mongo_log "built $FERRETDB_BIN in $(($(date +%s) - t0)) s"
echo "$FERRETDB_BIN"
