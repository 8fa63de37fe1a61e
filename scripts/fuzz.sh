#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for a while each, one target at a time (Go fuzzes
# one target per process), and stops at the first failure, printing where the failing input
# was saved. The targets are found by grepping the test files for `func FuzzXxx(f *testing.F)`.
#
# Usage:
#   scripts/fuzz.sh                       # every target, 3 s each (what scripts/test.sh runs)
#   FUZZTIME=10m scripts/fuzz.sh          # nightly length: 10 minutes per target
#   scripts/fuzz.sh ./oauth ./tokens      # only the targets of these package directories
#   FUZZ='^FuzzVerifyToken$' scripts/fuzz.sh ./tokens   # only matching targets
#   FUZZ='^Fuzz(ParseAccessClaims|ParseHeader|VerifyToken)$' FUZZTIME=10m scripts/fuzz.sh ./tokens
#                                         # the token reader's nightly run (bench/FUZZING.md)
#
# Environment:
#   FUZZTIME          time per target, as go test's -fuzztime (default 3s; "5000x" = runs)
#   FUZZMINIMIZETIME  time spent minimising each new input, as -fuzzminimizetime (default 5s)
#   FUZZPARALLEL      fuzzing workers per target (default: GOMAXPROCS, i.e. the CPUs)
#   FUZZ              regular expression the target names must match (default: all)
#
# Each package's test binary is built once with fuzzing instrumentation (`go test -c -fuzz`)
# and run from the package directory for each of its targets, exactly as
# `go test -run '^$' -fuzz '^FuzzName$' -fuzztime 3s ./pkg` runs it (same seed corpus in
# testdata/fuzz, same cached corpus under $(go env GOCACHE)/fuzz), without relinking per
# target. What to do with a failing input: bench/FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-3s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}
FUZZ=${FUZZ:-.}
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
  parallel=(-test.parallel="$FUZZPARALLEL")
fi

# Package directories with fuzz targets (arguments, or every one in the repository).
if [ $# -gt 0 ]; then
  dirs=("$@")
else
  mapfile -t dirs < <(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=testdata \
    -E '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' . | xargs -n1 dirname | sort -u)
fi
if [ ${#dirs[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cache=$(go env GOCACHE)/fuzz
start=$SECONDS
total=0

for dir in "${dirs[@]}"; do
  dir=${dir%/}
  case $dir in ./*) ;; *) dir=./$dir ;; esac
  mapfile -t targets < <(grep -hoE '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' "$dir"/*_test.go |
    sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' | grep -E -- "$FUZZ" | sort)
  [ ${#targets[@]} -gt 0 ] || continue
  pkg=$(go list "$dir")
  bin=$tmp/$(echo "$pkg" | tr '/' '_').test
  echo "== $dir: building with fuzzing instrumentation"
  go test -c -vet=off -fuzz=. -o "$bin" "$dir"
  for t in "${targets[@]}"; do
    total=$((total + 1))
    log=$tmp/$t.log
    t0=$SECONDS
    tries=0
    while :; do
      tries=$((tries + 1))
      if (cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^$t\$" -test.fuzztime="$FUZZTIME" \
        -test.fuzzminimizetime="$FUZZMINIMIZETIME" "${parallel[@]}" -test.timeout=0 -test.paniconexit0 \
        -test.fuzzcachedir="$cache/$pkg") >"$log" 2>&1; then
        ok=1
        break
      fi
      ok=0
      # Go before 1.27 has a race in its fuzzing coordinator (go.dev/issue/75804): when
      # -fuzztime runs out while a worker is busy, the target fails with a bare "context
      # deadline exceeded" and no failing input. That is not a finding: run the target again,
      # at most twice. Anything else (a written input, a panic, a failed seed) fails at once.
      if [ $tries -lt 3 ] && grep -q '^    context deadline exceeded$' "$log" &&
        ! grep -qE 'testdata/fuzz/|panic:|^    [a-z_]+_test\.go:[0-9]+:' "$log"; then
        echo "note $dir $t: fuzzing coordinator deadline race (go.dev/issue/75804, no failing input); running it again"
        continue
      fi
      break
    done
    if [ $ok = 1 ]; then
      execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 || true)
      echo "ok   $dir $t ($((SECONDS - t0)) s, ${execs:-no execs})"
    else
      cat "$log"
      echo
      echo "FAIL $dir $t"
      if saved=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | tail -1); then
        name=${saved#testdata/fuzz/}
        echo "The failing input was saved to ${dir#./}/$saved."
        echo "Reproduce it:  go test -run='^${name%%/*}\$/^${name#*/}\$' $dir"
        echo "Fix the bug, then keep the file: it is now a regression seed (bench/FUZZING.md)."
      fi
      exit 1
    fi
  done
done
echo "fuzz: $total targets, $FUZZTIME each, $((SECONDS - start)) s in all"
