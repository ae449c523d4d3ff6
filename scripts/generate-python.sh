#!/usr/bin/env bash
# `make generate` step (run by scripts/generate.sh after the buf steps): the Python protobuf and
# gRPC modules of our protos into gen/python/ — recommender/v1/{behavior,tracking_config}_pb2.py,
# _pb2_grpc.py, _pb2.pyi and recommender/options/v1/options_pb2*. google/api is not generated: at
# run time it comes from googleapis-common-protos, google/protobuf from protobuf.
#
# The generator is grpcio-tools from PyPI, pinned below, installed once into .tools/python-venv
# (a stamp of the pins makes reruns a no-op; pip's cache is .tools/pip-cache). It reads the buf
# image of the workspace (buf build), so imports resolve exactly as they do for the other
# generators, and its output depends only on the protos and the pins (byte-stable).
#
# The packages are PEP 420 namespace packages (no __init__.py): other generated protos under
# recommender/ (the seed's item.proto, …) can be installed beside ours. py.typed marks each leaf
# package as typed (PEP 561) so mypy reads the .pyi stubs from an installed wheel.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

GRPCIO_TOOLS_VERSION="1.85.1"
PROTOBUF_VERSION="7.36.2"
VENV="$PROJECT_ROOT/.tools/python-venv"
PY="${PYTHON:-python3}"
OUT=gen/python

command -v "$PY" >/dev/null 2>&1 || { echo "generate-python: $PY not found (install python3 and python3-venv)" >&2; exit 1; }
pins="grpcio-tools==$GRPCIO_TOOLS_VERSION protobuf==$PROTOBUF_VERSION"
stamp="$VENV/.generate-python-stamp"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pins" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" \
    || { rm -rf "$VENV"; echo "generate-python: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  PIP_CACHE_DIR="$PROJECT_ROOT/.tools/pip-cache" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $pins \
    || { echo "generate-python: pip install $pins failed (PyPI unreachable?)" >&2; exit 1; }
  echo "$pins" > "$stamp"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
buf build -o "$tmp/image.binpb"
mapfile -t protos < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
rm -rf "$OUT"
mkdir -p "$OUT"
"$VENV/bin/python" -m grpc_tools.protoc --descriptor_set_in="$tmp/image.binpb" \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" "${protos[@]}"
# A package per proto package directory, each marked typed.
for f in "${protos[@]}"; do touch "$OUT/$(dirname "$f")/py.typed"; done
