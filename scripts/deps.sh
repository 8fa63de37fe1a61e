#!/usr/bin/env bash
# Installs what the Gatehouse test suite needs beyond Go. Idempotent: each step checks whether
# its work is already done and returns at once if so. scripts/test.sh runs it first; run it
# yourself before `go test ./e2e/` on a fresh checkout. Usage: scripts/deps.sh
#
# To add a dependency, write a step_<name> function below and list it in STEPS.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { # need <command> <what it is for>
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "deps: $1 is required ($2) but is not on PATH" >&2
    exit 1
  fi
}

# Node.js packages of the relying-party interoperability tests (e2e/node, e2e/node_test.go):
# installed exactly as locked, again whenever package.json or package-lock.json is newer than
# the last install (npm writes node_modules/.package-lock.json on every install).
step_node_packages() {
  local dir=e2e/node
  local stamp=$dir/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ] && [ ! "$dir/package.json" -nt "$stamp" ]; then
    echo "deps: $dir/node_modules is up to date"
    return
  fi
  need node "Node.js >= 20, for e2e/node"
  need npm "for e2e/node"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "deps: Node.js >= 20 is required for e2e/node, found $(node --version)" >&2
    exit 1
  fi
  echo "deps: npm ci in $dir"
  npm ci --prefix "$dir" --no-audit --no-fund
}

STEPS=(
  step_node_packages
)

for step in "${STEPS[@]}"; do
  "$step"
done
