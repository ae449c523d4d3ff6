#!/usr/bin/env bash
# Python venvs for the tests that run Python clients. Packages come from PyPI once, into a wheelhouse
# kept between runs (.tools/pip-wheelhouse; pip's own HTTP cache stays empty behind a registry proxy
# that forbids caching), and are installed from there offline: a fresh venv takes seconds.
#
#   python-env.sh                 the edge tests' venv .tools/pyenv (test/edge/python-grpc.test.ts):
#                                 grpcio, protobuf, googleapis-common-protos (google/api) and requests;
#                                 the generated modules come from gen/python (PYTHONPATH).
#   python-env.sh VENV SPEC...    a venv at VENV with pip SPECs (requirements or wheel files), e.g. the
#                                 consumer venv of test/artifacts/python-consumer.test.ts.
#
# Idempotent: a stamp of the specs (and of the wheels' contents) makes reruns a no-op. Prints
# nothing on success but the ready line; exits non-zero with a message when something cannot be set up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ $# -eq 0 ]; then
  set -- "$ROOT/.tools/pyenv" "grpcio>=1.85.1,<2" "protobuf>=7.35.1,<8" "googleapis-common-protos>=1.66,<2" "requests>=2.31,<3"
fi
VENV="$1"
shift
[ $# -gt 0 ] || { echo "usage: $0 [VENV SPEC...]" >&2; exit 2; }
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || { echo "python-env: $PY not found (install python3 and python3-venv)" >&2; exit 1; }

want=""
for spec in "$@"; do
  file="${spec%%\[*}"  # a wheel path may carry extras: x.whl[kafka]
  if [ -f "$file" ]; then want+="$spec=$(sha256sum "$file" | cut -c1-64) "; else want+="$spec "; fi
done
stamp="$VENV/.pkgs-stamp"
# Without ensurepip a venv takes a fraction of a second instead of ~20 s: the outer pip installs
# into it (pip --python, pip >= 22.3). Where the outer Python has no such pip, the venv gets its own.
if "$PY" -m pip --python "$PY" --version >/dev/null 2>&1; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv --without-pip "$VENV" || { rm -rf "$VENV"; echo "python-env: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  pip=("$PY" -m pip --python "$VENV/bin/python")
else
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" || { rm -rf "$VENV"; echo "python-env: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  pip=("$VENV/bin/python" -m pip)
fi
pip+=(--quiet --disable-pip-version-check)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  WHEELHOUSE="$ROOT/.tools/pip-wheelhouse"
  mkdir -p "$WHEELHOUSE"
  offline=(install --no-compile --no-index --find-links "$WHEELHOUSE")
  if ! "${pip[@]}" "${offline[@]}" "$@" 2>/dev/null; then
    # Something is not in the wheelhouse yet: fetch what the specs need from PyPI, then install offline.
    "${pip[@]}" download --dest "$WHEELHOUSE" "$@" || { echo "python-env: pip download $* failed (PyPI unreachable?)" >&2; exit 1; }
    for spec in "$@"; do [ -f "${spec%%\[*}" ] && rm -f "$WHEELHOUSE/$(basename "${spec%%\[*}")"; done  # local wheels are not cached
    "${pip[@]}" "${offline[@]}" "$@" || { echo "python-env: pip install $* failed" >&2; exit 1; }
  fi
  echo "$want" > "$stamp"
fi
echo "python-env: ready ($VENV/bin/python)"
