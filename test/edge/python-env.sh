#!/usr/bin/env bash
# Python client environment for test/edge/python-grpc.test.ts: a venv under .tools/pyenv
# with grpcio, grpcio-tools and requests (from PyPI), and the seed's gRPC stubs generated
# from proto/ into .tools/pyenv/gen (recommender/v1/behavior_pb2.py, *_pb2_grpc.py, the
# options proto and google/api). Idempotent: a stamp of the proto sources' hash and the
# package list makes reruns a no-op. Prints nothing on success except what pip says on
# first install; exits non-zero with a message when something cannot be set up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.tools/pyenv"
GEN="$VENV/gen"
PKGS="grpcio grpcio-tools protobuf requests"
PY="${PYTHON:-python3}"

command -v "$PY" >/dev/null 2>&1 || { echo "python-env: $PY not found (install python3 and python3-venv)" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" || { echo "python-env: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; rm -rf "$VENV"; exit 1; }
fi
pkg_stamp="$VENV/.pkgs-stamp"
if [ ! -f "$pkg_stamp" ] || [ "$(cat "$pkg_stamp")" != "$PKGS" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PKGS \
    || { echo "python-env: pip install $PKGS failed (PyPI unreachable?)" >&2; exit 1; }
  echo "$PKGS" > "$pkg_stamp"
fi

# google/api/{annotations,http}.proto: .tools/proto-deps (scripts/setup.sh) or the npm package.
DEPS="$ROOT/.tools/proto-deps"
if [ ! -f "$DEPS/google/api/http.proto" ]; then
  src="$ROOT/node_modules/google-proto-files/google/api"
  [ -f "$src/http.proto" ] || { echo "python-env: google/api protos missing: run scripts/setup.sh" >&2; exit 1; }
  mkdir -p "$DEPS/google/api"
  cp "$src/annotations.proto" "$src/http.proto" "$DEPS/google/api/"
fi

want="$(cat $(find proto -name '*.proto' | sort) "$DEPS/google/api/"*.proto | sha1sum | cut -c1-40) $PKGS"
gen_stamp="$GEN/.stamp"
if [ ! -f "$gen_stamp" ] || [ "$(cat "$gen_stamp")" != "$want" ]; then
  rm -rf "$GEN"
  mkdir -p "$GEN"
  WKT="$("$VENV/bin/python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
  mapfile -t protos < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
  (cd proto && "$VENV/bin/python" -m grpc_tools.protoc -I . -I "$DEPS" -I "$WKT" \
      --python_out="$GEN" --grpc_python_out="$GEN" "${protos[@]}")
  (cd "$DEPS" && "$VENV/bin/python" -m grpc_tools.protoc -I . -I "$WKT" \
      --python_out="$GEN" google/api/annotations.proto google/api/http.proto)
  # Plain packages (not namespace) so `from recommender.v1 import behavior_pb2` resolves
  # even if another `recommender` or `google` is on sys.path; google stays a namespace
  # package because protobuf installs google.protobuf.
  for d in recommender recommender/v1 recommender/options recommender/options/v1; do
    [ -d "$GEN/$d" ] && touch "$GEN/$d/__init__.py"
  done
  echo "$want" > "$gen_stamp"
fi
echo "python-env: ready ($VENV/bin/python, PYTHONPATH=$GEN)"
