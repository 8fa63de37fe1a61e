#!/usr/bin/env bash
# Runs the whole Gatehouse test suite: formatting, vet, every Go test (unit, store
# conformance, Caddyfile adapt goldens, end-to-end against a real Caddy and Badger), and every
# Go benchmark once so that they keep compiling. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 -timeout 30m ./...

echo "== benchmarks (one iteration each, to keep them compiling)"
go test -count=1 -run '^$' -bench . -benchtime 1x -timeout 20m ./... > /tmp/gatehouse-bench-smoke.txt || {
  cat /tmp/gatehouse-bench-smoke.txt; exit 1; }
echo "ok"
