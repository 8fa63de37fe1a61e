#!/usr/bin/env bash
# Runs bench/run.sh on Badger, then on PostgreSQL, and prints the two side by side
# (bench/README.md, "Badger and PostgreSQL"). Every variable of bench/run.sh applies to both
# runs (QUICK=1, SKIP_*, ALGS, GOBENCHTIME ...); the store is set here.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-compare}
mkdir -p "$OUT"
for st in badger postgres; do
  echo "=== $st" >&2
  GATEHOUSE_BENCH_STORE=$st OUT=$OUT/$st bench/run.sh > /dev/null
done
python3 - "$OUT" <<'PY' | tee "$OUT/compare.md"
import sys
out = sys.argv[1]
def load(st):
    d = {}
    for line in open(f"{out}/{st}/numbers.tsv"):
        k, v = line.rstrip("\n").split("\t")
        d[k] = v
    return d
b, p = load("badger"), load("postgres")
labels = [
    ("ratio.bearer", "proxy, same bearer token: ratio to plain reverse_proxy"),
    ("ratio.cookie", "proxy, same session cookie: ratio to plain reverse_proxy"),
    ("ratio.cookieX", "proxy, one cookie across access-token expiry: ratio"),
    ("ratio.fwdauth", "forward auth, nginx auth_request to gatehouse_forward_auth: ratio to nginx alone"),
    ("logins", "password logins/s (server on 1 CPU)"),
    ("go.PasskeyLogin/usernameless", "passkey logins/s, serial (Go benchmark)"),
    ("go.PasskeyLoginParallel", "passkey logins/s, 16 goroutines (Go benchmark)"),
    ("go.OTPVerify", "email-code verifications/s, serial (Go benchmark)"),
    ("go.OTPVerifyParallel", "email-code verifications/s, 16 goroutines (Go benchmark)"),
]
for k in sorted(set(b) | set(p)):
    if k.startswith("ratio.unique."):
        labels.append((k, f"proxy, a new {k.split('.')[-1]} token every request: ratio"))
    for prefix, what in (("exchange.", "code exchanges/s"), ("refresh.", "refreshes/s")):
        if k.startswith(prefix):
            alg = k[len(prefix):]
            if alg.endswith("-all"):
                labels.append((k, f"{what}, access and ID tokens {alg[:-4]} (id_token_alg {alg[:-4]})"))
            else:
                labels.append((k, f"{what}, access_token_alg {alg}, ID tokens RS256"))
print("| measurement | Badger | PostgreSQL |")
print("|---|---|---|")
for k, label in labels:
    if k in b or k in p:
        print(f"| {label} | {b.get(k, '-')} | {p.get(k, '-')} |")
PY
echo "results in $OUT" >&2
