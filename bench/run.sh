#!/usr/bin/env bash
# Gatehouse benchmark harness: builds the binary, starts a tiny upstream, plain Caddy
# reverse_proxy and Gatehouse-protected routes in ONE server, drives them with wrk
# (interleaved, repeated, medians), then measures logins/s, code exchanges/s, refreshes/s,
# memory and startup. See bench/README.md.
#
#   bench/run.sh              full run (about 10 minutes)
#   QUICK=1 bench/run.sh      fewer, shorter runs (about 3 minutes)
#   GATEHOUSE_BENCH_STORE=postgres bench/run.sh   the same on PostgreSQL (a schema of its own)
#   bench/compare.sh          Badger and PostgreSQL side by side
#
# Environment: REPS (3), DURATION (8s; QUICK: DURATION_QUICK, 4s), PER_RUN (distinct tokens per
# unique-token run, DURATION x 10000), CONNS (32), ALGS (access-token algorithms compared,
# "RS256 EdDSA"), EXPIRY_TTL (access-token lifetime of the cookie-across-expiry runs, 2s:
# shorter than DURATION), SKIP_TOKENS=1, SKIP_MEMORY=1, SKIP_STARTUP=1, SKIP_GOBENCH=1 (the
# passwordless-login Go benchmarks), GOBENCHTIME (3s), SKIP_NGINX=1 (the forward-auth rows:
# nginx alone, and nginx with auth_request to gatehouse_forward_auth; they need Debian's
# nginx, installed by scripts/deps.sh).
# Store: GATEHOUSE_BENCH_STORE=badger (default) or postgres; PostgreSQL is
# GATEHOUSE_BENCH_POSTGRES, else GATEHOUSE_TEST_POSTGRES, else the development server on
# 127.0.0.1:5432 (database test). Each PostgreSQL data set gets a schema gh_bench_<time>_<n>,
# dropped at the end. On PostgreSQL the 100k-user memory run and the 1M-user startup run are
# skipped unless SKIP_MEMORY= / SKIP_STARTUP= (empty) are given: seeding goes through
# PostgreSQL's synchronous commits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REPS=${REPS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-32}
ALGS=${ALGS:-RS256 EdDSA}
ALG=${ALGS%% *}   # the configured access_token_alg for the proxy runs (verification takes any)
need() { command -v "$1" >/dev/null 2>&1; }
STORE=${GATEHOUSE_BENCH_STORE:-badger}
case "$STORE" in
  badger) ;;
  postgres)
    PGDSN=${GATEHOUSE_BENCH_POSTGRES:-${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}}
    SKIP_MEMORY=${SKIP_MEMORY-1}; SKIP_STARTUP=${SKIP_STARTUP-1}
    need psql || { echo "GATEHOUSE_BENCH_STORE=postgres needs psql (apt-get install postgresql-client)" >&2; exit 1; } ;;
  *) echo "GATEHOUSE_BENCH_STORE=$STORE: want badger or postgres" >&2; exit 2 ;;
esac
if [ -n "${QUICK:-}" ]; then REPS=${REPS_QUICK:-1}; DURATION=${DURATION_QUICK:-4s}; SKIP_STARTUP=${SKIP_STARTUP:-1}; fi

if ! need wrk || ! need taskset; then
  echo "installing wrk (Debian package)" >&2
  (apt-get install -y wrk util-linux >/dev/null 2>&1 || sudo apt-get install -y wrk util-linux >/dev/null) ||
    { echo "install wrk first (apt-get install wrk)" >&2; exit 1; }
fi
NGINX=""
if [ -z "${SKIP_NGINX:-}" ]; then
  NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
  if [ -z "$NGINX" ]; then
    echo "installing nginx (Debian package, as scripts/deps.sh does) for the forward-auth rows" >&2
    (apt-get install -y --no-install-recommends nginx >/dev/null 2>&1 ||
      sudo apt-get install -y --no-install-recommends nginx >/dev/null 2>&1) || true
    NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
  fi
  [ -n "$NGINX" ] || echo "no nginx: the forward-auth rows are left out (apt-get install nginx)" >&2
fi
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then LOADCPU=0; SRVCPU=1; else LOADCPU=0; SRVCPU=0; fi

OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [ "$STORE" = postgres ] && [ -n "${BENCH_ID:-}" ]; then
    for d in data data100k data1m; do
      psql -q "$PGDSN" -c "DROP SCHEMA IF EXISTS \"$(schema_of "$d")\" CASCADE" >/dev/null 2>&1 ||
        echo "could not drop schema $(schema_of "$d") (psql missing?): drop it by hand" >&2
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building" >&2
go build -o "$WORK/gatehouse" ./cmd/gatehouse
go build -o "$WORK/benchtool" ./bench/benchtool
BIN=$WORK/gatehouse; BT=$WORK/benchtool

PORTAL=19000; PLAIN=19001; PROT=19002; UP=19003; REQ=19004; ADMIN=19019
ASSERT_PORT=19011 # gatehouse_protect with `assertion` (README "Signed identity assertion")
# Forward auth (README "Forward auth for nginx and Traefik"): nginx alone proxying the upstream
# on NGX_PLAIN, nginx with auth_request to gatehouse_forward_auth (on FWD_GH) on NGX_FWD.
NGX_PLAIN=19020; NGX_FWD=19021; FWD_GH=19022
ISSUER=http://127.0.0.1:$PORTAL
DATA=$WORK/data
BENCH_ID=$(date -u +%Y%m%d%H%M%S)_$$

# A data set: a Badger directory, or on PostgreSQL a schema named after it.
schema_of() { echo "gh_bench_${BENCH_ID}_$(basename "$1")"; }
store_args() { # $1 = data dir: the benchtool flags that open its store
  if [ "$STORE" = postgres ]; then echo "-store $PGDSN -schema $(schema_of "$1")"; else echo "-store $1"; fi
}
storage_line() { # $1 = data dir: the Caddyfile's storage option
  if [ "$STORE" = postgres ]; then
    printf 'storage postgres "%s" {\n\t\t\tschema %s\n\t\t}\n' "$PGDSN" "$(schema_of "$1")"
  else
    echo "storage badger $1"
  fi
}

caddyfile() { # $1 = data dir, $2 = access-token algorithm, $3 = access-token lifetime, $4 = ID-token algorithm
local alg=${2:-$ALG} ttl=${3:-1h} idalg=${4:-RS256} st
st=$(storage_line "$1")
cat <<EOF
{
	admin 127.0.0.1:$ADMIN
	persist_config off
	auto_https off
	log {
		level ERROR
	}
	# Only the forward-auth server believes a proxy, and only nginx's subrequests (sent from
	# 127.0.0.2): the other servers keep the configuration of the other rows.
	servers 127.0.0.1:$FWD_GH {
		trusted_proxies static 127.0.0.2/32
	}
	gatehouse {
		issuer $ISSUER
		$st
		signup open
		tokens {
			access_token_lifetime $ttl
			access_token_alg $alg
			id_token_alg $idalg
		}
		lockout {
			account_max_failures 100000000
			ip_max_failures 100000000
		}
		client bench {
			redirect_uri http://127.0.0.1:$PROT/.gatehouse/callback http://127.0.0.1:19999/cb
			scopes openid profile email offline_access bench
		}
	}
}
http://127.0.0.1:$PORTAL {
	gatehouse_portal
}
http://127.0.0.1:$PLAIN {
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$PROT {
	gatehouse_protect {
		scope bench
		allow app_passwords
	}
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$ASSERT_PORT {
	gatehouse_protect {
		scope bench
		assertion
	}
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$REQ {
	gatehouse_protect {
		client bench
		scope bench
		require "bench" in claims.scopes && claims.sub != ""
		require request.method in ["GET", "HEAD"] || "admin" in claims.roles
	}
	reverse_proxy 127.0.0.1:$UP
}
# No host name: nginx sends its upstream block's name as Host (a site address with a host
# name is refused at load). The policy is the protect row's: client bench (the audience of
# the minted tokens; issuer $ISSUER), scope bench.
http://:$FWD_GH {
	bind 127.0.0.1
	gatehouse_forward_auth {
		client bench
		scope bench
	}
}
EOF
}

# nginx.conf for the forward-auth rows: the README's snippet (nginx passes the client's
# Authorization to the auth subrequest; the identity headers and the stripped Authorization
# are set on the upstream request), keep-alive connections to the upstream and to
# Gatehouse, one worker.
nginx_conf() { # $1 = directory
cat <<EOF
worker_processes 1;
master_process off;
daemon off;
error_log $1/error.log warn;
pid $1/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $1/body;
	proxy_temp_path $1/proxy;
	fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi;
	scgi_temp_path $1/scgi;
	proxy_http_version 1.1;
	proxy_set_header Connection "";
	upstream bench_upstream { server 127.0.0.1:$UP; keepalive 64; }
	upstream gatehouse_auth { server 127.0.0.1:$FWD_GH; keepalive 64; }
	server {
		listen 127.0.0.1:$NGX_PLAIN;
		location / { proxy_pass http://bench_upstream; }
	}
	server {
		listen 127.0.0.1:$NGX_FWD;
		location = /_gatehouse_auth {
			internal;
			proxy_pass http://gatehouse_auth;
			proxy_bind 127.0.0.2;
			proxy_pass_request_body off;
			proxy_set_header Connection "";
			proxy_set_header Content-Length "";
			proxy_set_header X-Original-Method \$request_method;
			proxy_set_header X-Original-URI \$request_uri;
			proxy_set_header X-Forwarded-Host 127.0.0.1:$NGX_FWD;
			proxy_set_header X-Forwarded-Proto \$scheme;
		}
		location / {
			auth_request /_gatehouse_auth;
			auth_request_set \$gh_user_id \$upstream_http_x_user_id;
			auth_request_set \$gh_user_email \$upstream_http_x_user_email;
			auth_request_set \$gh_user_name \$upstream_http_x_user_name;
			auth_request_set \$gh_user_groups \$upstream_http_x_user_groups;
			auth_request_set \$gh_cookie \$upstream_http_x_gatehouse_cookie;
			auth_request_set \$gh_authorization \$upstream_http_x_gatehouse_authorization;
			proxy_set_header Connection "";
			proxy_set_header X-User-Id \$gh_user_id;
			proxy_set_header X-User-Email \$gh_user_email;
			proxy_set_header X-User-Name \$gh_user_name;
			proxy_set_header X-User-Groups \$gh_user_groups;
			proxy_set_header Cookie \$gh_cookie;
			proxy_set_header Authorization \$gh_authorization;
			proxy_pass http://bench_upstream;
		}
	}
}
EOF
}

wait_up() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

start_server() { # $1 = config file, $2 = cpu list ("" = all)
  if [ -n "$2" ]; then taskset -c "$2" "$BIN" run --config "$1" >"$WORK/server.log" 2>&1 &
  else "$BIN" run --config "$1" >"$WORK/server.log" 2>&1 & fi
  SERVER=$!; PIDS+=("$SERVER")
  wait_up "$ISSUER/.well-known/openid-configuration"
}
stop_server() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }

cat > "$WORK/unique.lua" <<'EOF'
-- Every request carries a different valid token (no cache can help). Requests are formatted
-- once at start, so that wrk's own cost per request is as low as for a fixed request.
local reqs, i = {}, 0
init = function(args)
  for line in io.lines(args[1]) do
    reqs[#reqs + 1] = wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. line })
  end
end
request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
EOF

# ---------------------------------------------------------------------------------------
echo "== fixtures: users and tokens ($ALGS)" >&2
caddyfile "$DATA" > "$WORK/Caddyfile"
"$BT" seed $(store_args "$DATA") -users 100 >/dev/null
# Enough distinct tokens for every unique-token run (up to ~10k req/s), per algorithm.
secs=${DURATION%s}
PER_RUN=${PER_RUN:-$(( secs * 10000 ))}   # fewer for a smoke run (the script then reuses them)
for a in $ALGS; do
  for r in $(seq 1 "$REPS"); do
    "$BT" mint $(store_args "$DATA") -issuer "$ISSUER" -alg "$a" -n "$PER_RUN" -out "$WORK/tokens.$a.$r"
  done
done
"$BT" mint $(store_args "$DATA") -issuer "$ISSUER" -alg "$ALG" -n 1 -out "$WORK/token.same"
SAME=$(head -1 "$WORK/token.same")
# A personal access token and an app password of the first seeded user, with the route's scope.
PAT_AUTH=$("$BT" appcred $(store_args "$DATA") -kind pat -header)
APPPW_AUTH=$("$BT" appcred $(store_args "$DATA") -kind app_password -header)

echo "== starting servers (wrk on CPU $LOADCPU, servers on CPU $SRVCPU)" >&2
taskset -c "$SRVCPU" "$BT" upstream -addr 127.0.0.1:$UP & PIDS+=($!)
start_server "$WORK/Caddyfile" "$SRVCPU"
sleep 2
IDLE_RSS=$(rss_kb "$SERVER")
COOKIE=$("$BT" cookie -app http://127.0.0.1:$PROT)
curl -sf -o /dev/null -H "Authorization: Bearer $SAME" http://127.0.0.1:$PROT/ || { echo "bearer check failed" >&2; exit 1; }
curl -sf -o /dev/null -H "Cookie: $COOKIE" http://127.0.0.1:$PROT/ || { echo "cookie check failed" >&2; exit 1; }
curl -sf -o /dev/null -H "Authorization: Bearer $SAME" http://127.0.0.1:$REQ/ || { echo "require check failed" >&2; exit 1; }
curl -sf -o /dev/null -H "Authorization: $PAT_AUTH" http://127.0.0.1:$PROT/ || { echo "PAT check failed" >&2; exit 1; }
curl -sf -o /dev/null -H "Authorization: $APPPW_AUTH" http://127.0.0.1:$PROT/ || { echo "app password check failed" >&2; exit 1; }
curl -sf -o /dev/null -H "Authorization: Bearer $SAME" http://127.0.0.1:$ASSERT_PORT/ || { echo "assertion check failed" >&2; exit 1; }
if [ -n "$NGINX" ]; then
  mkdir -p "$WORK/nginx"
  nginx_conf "$WORK/nginx" > "$WORK/nginx/nginx.conf"
  taskset -c "$SRVCPU" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>>"$WORK/nginx/error.log" & PIDS+=($!)
  wait_up http://127.0.0.1:$NGX_PLAIN/ || { cat "$WORK/nginx/error.log" >&2; exit 1; }
  # The forward-auth row must measure a decision: the bench token allowed, no token refused.
  curl -sf -o /dev/null -H "Authorization: Bearer $SAME" http://127.0.0.1:$NGX_FWD/ ||
    { echo "forward-auth check failed (nginx -> gatehouse_forward_auth with the bench token)" >&2; cat "$WORK/nginx/error.log" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$NGX_FWD/)
  [ "$code" = 401 ] || { echo "forward-auth check failed: without a token nginx answered $code, want 401" >&2; exit 1; }
fi

run_wrk() { # name rep args...
  local name=$1 rep=$2; shift 2
  taskset -c "$LOADCPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$@" > "$OUT/wrk.$name.$rep.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.$name.$rep.txt")
  p50=$(awk '$1=="50%" {print $2}' "$OUT/wrk.$name.$rep.txt")
  p99=$(awk '$1=="99%" {print $2}' "$OUT/wrk.$name.$rep.txt")
  echo "$name $rep $rps $p50 $p99" >> "$OUT/wrk.tsv"
  echo "   $name #$rep: $rps req/s p50 $p50 p99 $p99" >&2
}

echo "== proxy throughput: $REPS x (plain, bearer, cookie, PAT, app password; plain and protect with a new token per request), $DURATION each, $CONNS connections" >&2
: > "$OUT/wrk.tsv"
for r in $(seq 1 "$REPS"); do
  run_wrk plain "$r" http://127.0.0.1:$PLAIN/
  run_wrk bearer "$r" -H "Authorization: Bearer $SAME" http://127.0.0.1:$PROT/
  run_wrk plain "$r" http://127.0.0.1:$PLAIN/
  run_wrk cookie "$r" -H "Cookie: $COOKIE" http://127.0.0.1:$PROT/
  run_wrk plain "$r" http://127.0.0.1:$PLAIN/
  run_wrk pat "$r" -H "Authorization: $PAT_AUTH" http://127.0.0.1:$PROT/
  run_wrk apppw "$r" -H "Authorization: $APPPW_AUTH" http://127.0.0.1:$PROT/
  run_wrk assert "$r" -H "Authorization: Bearer $SAME" http://127.0.0.1:$ASSERT_PORT/
  run_wrk plain "$r" http://127.0.0.1:$PLAIN/
  run_wrk require "$r" -H "Authorization: Bearer $SAME" http://127.0.0.1:$REQ/
  if [ -n "$NGINX" ]; then
    run_wrk ngx "$r" -H "Authorization: Bearer $SAME" http://127.0.0.1:$NGX_PLAIN/
    run_wrk fwdauth "$r" -H "Authorization: Bearer $SAME" http://127.0.0.1:$NGX_FWD/
  fi
  for a in $ALGS; do
    # The same scripted requests to plain reverse_proxy (which passes the header on) are the
    # baseline of the unique-token runs: client-side work is identical.
    run_wrk "plainU.$a" "$r" -s "$WORK/unique.lua" http://127.0.0.1:$PLAIN/ -- "$WORK/tokens.$a.$r"
    run_wrk "unique.$a" "$r" -s "$WORK/unique.lua" http://127.0.0.1:$PROT/ -- "$WORK/tokens.$a.$r"
  done
done
echo "== latency at a fixed rate of ${RATE:=2000} req/s (below saturation), $REPS x" >&2
: > "$OUT/latency.txt"
for r in $(seq 1 "$REPS"); do
  lat() { taskset -c "$LOADCPU" "$BT" latency -rate "$RATE" -d 5s "$@" | tee -a "$OUT/latency.txt" >&2; }
  lat -label "plain#$r" -url http://127.0.0.1:$PLAIN/
  lat -label "bearer#$r" -url http://127.0.0.1:$PROT/ -H "Authorization: Bearer $SAME"
  lat -label "cookie#$r" -url http://127.0.0.1:$PROT/ -H "Cookie: $COOKIE"
  for a in $ALGS; do
    lat -label "unique.$a#$r" -url http://127.0.0.1:$PROT/ -tokens "$WORK/tokens.$a.$r"
  done
done
LOADED_RSS=$(rss_kb "$SERVER")

: > "$OUT/logins.txt"; : > "$OUT/exchange.txt"; : > "$OUT/refresh.txt"
if [ -z "${SKIP_TOKENS:-}" ]; then
  echo "== password logins (server on CPU $SRVCPU: per core)" >&2
  "$BT" logins -issuer "$ISSUER" -c 4 -d 10s | tee "$OUT/logins.txt" >&2
  stop_server
  # Each access-token algorithm with RS256 ID tokens (OpenID Connect's default: a client that
  # registers no id_token_signed_response_alg gets RS256), then "EdDSA-all": EdDSA access
  # and ID tokens, what a client that registers id_token_signed_response_alg EdDSA gets.
  for a in $ALGS EdDSA-all; do
    case $a in
      *-all) at=${a%-all}; idt=$at ;;
      *) at=$a; idt=RS256 ;;
    esac
    echo "== code exchanges and refreshes, access_token_alg $at, id_token_alg $idt (server and load generator share both CPUs)" >&2
    caddyfile "$DATA" "$at" 1h "$idt" > "$WORK/Caddyfile.$a"
    start_server "$WORK/Caddyfile.$a" ""
    "$BT" exchange -issuer "$ISSUER" -redirect http://127.0.0.1:19999/cb -n 3000 -c 16 | sed "s/^/[$a] /" | tee -a "$OUT/exchange.txt" >&2
    "$BT" refresh -issuer "$ISSUER" -redirect http://127.0.0.1:19999/cb -c 16 -d 10s | sed "s/^/[$a] /" | tee -a "$OUT/refresh.txt" >&2
    stop_server
  done
else
  stop_server
fi

# Passwordless logins, server side: the Go benchmarks of login/passkey and login/otp on the
# same kind of store (a fresh one each: see bench/benchstore), serial and from 16
# goroutines (concurrent commits share the store's syncs).
: > "$OUT/gobench.txt"
if [ -z "${SKIP_GOBENCH:-}" ]; then
  echo "== passwordless logins (Go benchmarks on $STORE, -benchtime ${GOBENCHTIME:=3s})" >&2
  GATEHOUSE_BENCH_STORE=$STORE GATEHOUSE_TEST_POSTGRES=${PGDSN:-${GATEHOUSE_TEST_POSTGRES:-}} \
    go test -run '^$' -bench 'PasskeyLogin|OTPVerify' -benchtime "$GOBENCHTIME" ./login/passkey ./login/otp |
    tee "$OUT/gobench.txt" | grep -E '^Benchmark' >&2 || true
fi

# The same session cookie sent for longer than its access token lives, Set-Cookie ignored
# (wrk, like a client that missed it): the guard refreshes once per access-token lifetime
# and serves the superseded cookie from memory, never a refresh per request.
echo "== cookie across access-token expiry: access_token_lifetime ${EXPIRY_TTL:=2s}, one cookie for $DURATION, $REPS x" >&2
caddyfile "$DATA" "$ALG" "$EXPIRY_TTL" > "$WORK/Caddyfile.expiry"
start_server "$WORK/Caddyfile.expiry" "$SRVCPU"
for r in $(seq 1 "$REPS"); do
  COOKIE_X=$("$BT" cookie -app http://127.0.0.1:$PROT)
  run_wrk plainX "$r" http://127.0.0.1:$PLAIN/
  run_wrk cookieX "$r" -H "Cookie: $COOKIE_X" http://127.0.0.1:$PROT/
  if grep -q "Non-2xx" "$OUT/wrk.cookieX.$r.txt"; then
    echo "   cookieX #$r: $(grep Non-2xx "$OUT/wrk.cookieX.$r.txt") (refused after the expiry?)" >&2
    grep Non-2xx "$OUT/wrk.cookieX.$r.txt" >> "$OUT/expiry-errors.txt"
  fi
done
stop_server

MEM_RSS=""
if [ -z "${SKIP_MEMORY:-}" ]; then
  echo "== memory with 100k users and 100k sessions" >&2
  caddyfile "$WORK/data100k" > "$WORK/Caddyfile.100k"
  "$BT" seed $(store_args "$WORK/data100k") -users 100000 -sessions 100000 2>&1 | tee "$OUT/seed100k.txt" >&2
  start_server "$WORK/Caddyfile.100k" ""
  "$BT" logins -issuer "$ISSUER" -users 100000 -c 4 -d 5s >/dev/null
  sleep 5
  MEM_RSS=$(rss_kb "$SERVER")
  stop_server
fi

STARTUP=""
if [ -z "${SKIP_STARTUP:-}" ]; then
  echo "== startup with 1M users" >&2
  caddyfile "$WORK/data1m" > "$WORK/Caddyfile.1m"
  "$BT" seed $(store_args "$WORK/data1m") -users 1000000 -workers 128 2>&1 | tee "$OUT/seed1m.txt" >&2
  t0=$(date +%s%N)
  start_server "$WORK/Caddyfile.1m" ""
  t1=$(date +%s%N)
  STARTUP=$(( (t1 - t0) / 1000000 ))
  stop_server
fi

echo "== quickstart idle RSS" >&2
QS=$WORK/qs; mkdir -p "$QS"; cp -r examples "$QS/"
cd "$QS"
"$BIN" run --config examples/quickstart/Caddyfile >"$WORK/qs.log" 2>&1 &
QSPID=$!; PIDS+=("$QSPID")
cd "$ROOT"
wait_up http://localhost:9000/.well-known/openid-configuration; sleep 3
QS_RSS=$(rss_kb "$QSPID"); kill "$QSPID"

# ---------------------------------------------------------------------------------------
python3 - "$OUT" "$IDLE_RSS" "$LOADED_RSS" "${MEM_RSS:-}" "${STARTUP:-}" "$QS_RSS" "$ALGS" "$CONNS" "$DURATION" "$REPS" "$STORE" <<'PY' | tee "$OUT/summary.md"
import sys, statistics, re
out, idle, loaded, mem, startup, qs, algs, conns, dur, reps, store = sys.argv[1:]
# numbers.tsv: one measurement per line (key, value) for bench/compare.sh.
numbers = open(out + "/numbers.tsv", "w")
def num(key, value):
    numbers.write(f"{key}\t{value}\n")
print(f"Store: {store}\n")
rows = {}
for line in open(out + "/wrk.tsv"):
    name, rep, rps, p50, p99 = line.split()
    rows.setdefault(name, []).append((float(rps), p50, p99))
def ms(v):
    m = re.match(r"([\d.]+)(us|µs|ms|s)", v)
    x = float(m.group(1)); u = m.group(2)
    return x / 1000 if u in ("us", "µs") else x * 1000 if u == "s" else x
def med(name, i):
    vals = [r[i] if i == 0 else ms(r[i]) for r in rows[name]]
    return statistics.median(vals)
print(f"### Proxy throughput (wrk -t1 -c{conns} -d{dur}, medians of {reps} interleaved runs)\n")
print("| route | req/s | ratio to baseline | p50 ms | p99 ms | p99 added ms |")
print("|---|---|---|---|---|---|")
labels = {"plain": "plain reverse_proxy", "bearer": "protect, same bearer token", "cookie": "protect, same session cookie",
          "pat": "protect, PAT (reused)", "apppw": "protect, app password (reused)",
          "assert": "protect, same bearer token, with the signed identity assertion",
          "require": "protect, two require expressions (same bearer token)"}
def row(name, base, label):
    rps = med(name, 0)
    num(f"ratio.{name}", f"{rps/med(base,0):.2f}")
    print(f"| {label} | {rps:.0f} | {rps/med(base,0):.2f} | {med(name,1):.2f} | {med(name,2):.2f} | {med(name,2)-med(base,2):+.2f} |")
for name in ["plain", "bearer", "cookie", "pat", "apppw", "assert", "require"]:
    if name in rows:
        row(name, "plain", labels[name])
for a in algs.split():
    row(f"plainU.{a}", f"plainU.{a}", f"plain reverse_proxy, scripted requests with {a} tokens (baseline)")
    row(f"unique.{a}", f"plainU.{a}", f"protect, a new {a} token every request")
if "fwdauth" in rows:
    row("ngx", "ngx", "nginx proxy_pass alone, same bearer token (baseline of the next row)")
    row("fwdauth", "ngx", "nginx auth_request to gatehouse_forward_auth, same bearer token")
if "cookieX" in rows:
    row("plainX", "plainX", "plain reverse_proxy (baseline of the next row)")
    row("cookieX", "plainX", "protect, one session cookie across access-token expiry, Set-Cookie ignored")
    import os
    if os.path.exists(out + "/expiry-errors.txt"):
        print("\nErrors in the across-expiry cookie runs: " + " / ".join(l.strip() for l in open(out + "/expiry-errors.txt")))
print()
lat = {}
for line in open(out + "/latency.txt"):
    m = re.match(r"(\S+)#\d+ at (\d+)/s: .* p50 (\S+)\s+p99 (\S+)\s+errors (\d+)", line)
    if m:
        lat.setdefault(m.group(1), []).append((ms(m.group(3)), ms(m.group(4)), int(m.group(5))))
if lat:
    rate = re.search(r" at (\d+)/s", open(out + "/latency.txt").read()).group(1)
    print(f"### Latency at a fixed {rate} req/s (open loop, medians)\n")
    print("| route | p50 ms | p99 ms | p99 added ms | errors |")
    print("|---|---|---|---|---|")
    base99 = statistics.median(x[1] for x in lat["plain"])
    for name, vals in lat.items():
        p50 = statistics.median(x[0] for x in vals); p99 = statistics.median(x[1] for x in vals)
        print(f"| {name} | {p50:.3f} | {p99:.3f} | {p99-base99:+.3f} | {sum(x[2] for x in vals)} |")
    print()
for f in ["logins", "exchange", "refresh"]:
    for line in open(f"{out}/{f}.txt"):
        print("- " + line.strip())
        m = re.match(r"(?:\[(\S+)\] )?(password logins|code exchanges|refreshes): .*= (\d+)/s", line.strip())
        if m:  # not the "authorize (code issued)" line of the exchange run
            num(f + (("." + m.group(1)) if m.group(1) else ""), m.group(3))
for line in open(out + "/gobench.txt"):
    m = re.match(r"Benchmark(\S+?)(?:-\d+)?\s+\d+\s+.*?([\d.]+) (logins|verifications)/s", line)
    if m:
        print(f"- {m.group(1)}: {float(m.group(2)):.0f} {m.group(3)}/s")
        num("go." + m.group(1), f"{float(m.group(2)):.0f}")
print()
print(f"- RSS: idle {int(idle)//1024} MB, after the load {int(loaded)//1024} MB; quickstart idle {int(qs)//1024} MB")
if mem: print(f"- RSS with 100k users and 100k sessions (after logins): {int(mem)//1024} MB")
if startup: print(f"- startup with 1M users (process start to discovery answering): {startup} ms")
PY
echo "results in $OUT" >&2
