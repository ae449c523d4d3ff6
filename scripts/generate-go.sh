#!/usr/bin/env bash
# Step of `make generate` (run by scripts/generate.sh after the buf steps): the Go types and
# Connect/gRPC stubs of the Go module (sdk/go/README.md) into gen/go/, with buf.gen.go.yaml.
# The two generators are pinned here and installed once with the machine's Go from the Go module
# proxy into .tools/go-bin (git-ignored); a generator whose --version differs is reinstalled.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

# Keep in step with sdk/go/go.mod: the runtime there must be at least the generators' version.
PROTOC_GEN_GO_VERSION=v1.36.12     # google.golang.org/protobuf
PROTOC_GEN_CONNECT_GO_VERSION=v1.21.1 # connectrpc.com/connect

if ! command -v go >/dev/null 2>&1; then
  echo "generate-go: the go command is not on PATH (Go >= 1.24 is needed to install the pinned generators)" >&2
  exit 1
fi
bin="$PROJECT_ROOT/.tools/go-bin"
mkdir -p "$bin"

# install <binary> <package> <version> <what --version prints>
install() {
  local exe="$bin/$1"
  if [ ! -x "$exe" ] || [ "$("$exe" --version 2>/dev/null)" != "$4" ]; then
    echo "generate-go: installing $2@$3 into .tools/go-bin" >&2
    GOBIN="$bin" GOFLAGS=-mod=mod go install "$2@$3"
  fi
}
install protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION" "protoc-gen-go $PROTOC_GEN_GO_VERSION"
install protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go "$PROTOC_GEN_CONNECT_GO_VERSION" "${PROTOC_GEN_CONNECT_GO_VERSION#v}"

rm -rf gen/go
buf generate --template buf.gen.go.yaml
