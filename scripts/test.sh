#!/usr/bin/env bash
# Runs the whole Gatehouse test suite: formatting, vet, every Go test (unit, store
# conformance, Caddyfile adapt goldens, end-to-end against a real Caddy and Badger), every Go
# fuzz target for a few seconds (scripts/fuzz.sh), and every Go benchmark once so that they
# keep compiling. Usage: scripts/test.sh
#
# scripts/deps.sh installs the optional test tools (Node.js packages, Chromium) first, and
# GATEHOUSE_REQUIRE_TOOLS=1 turns the tests that would skip for want of one into failures
# (internal/testenv): here, nothing is skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# deps.sh installed (or checked) every tool the suite uses, a PostgreSQL server among them:
# tests that skip for a missing tool when run alone fail here instead, so nothing is skipped
# silently. GATEHOUSE_REQUIRE_TOOLS=0 scripts/test.sh runs without them.
export GATEHOUSE_REQUIRE_TOOLS="${GATEHOUSE_REQUIRE_TOOLS:-1}"
# The explicit opt-outs still skip; say so.
if [ "${GATEHOUSE_SKIP_NODE:-}" = 1 ]; then
  echo "test: GATEHOUSE_SKIP_NODE=1: the tests that need Node.js will be skipped"
fi
if [ "${GATEHOUSE_SKIP_BROWSER:-}" = 1 ]; then
  echo "test: GATEHOUSE_SKIP_BROWSER=1: the tests that need Chromium will be skipped"
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 -timeout 30m ./...

echo "== fuzz (3 s per target)"
FUZZTIME=3s scripts/fuzz.sh

echo "== benchmarks (one iteration each, to keep them compiling)"
bench_log=$(mktemp "${TMPDIR:-/tmp}/gatehouse-bench-smoke.XXXXXX")
trap 'rm -f "$bench_log"' EXIT
go test -count=1 -run '^$' -bench . -benchtime 1x -timeout 20m ./... > "$bench_log" || {
  cat "$bench_log"; exit 1; }
echo "ok"
