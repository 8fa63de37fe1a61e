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

# npm_ci_locked <dir>: installs a Node project's packages exactly as locked, again whenever
# package.json or package-lock.json is newer than the last install (npm writes
# node_modules/.package-lock.json on every install).
npm_ci_locked() {
  local dir=$1
  local stamp=$dir/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ] && [ ! "$dir/package.json" -nt "$stamp" ]; then
    echo "deps: $dir/node_modules is up to date"
    return
  fi
  need node "Node.js >= 20, for $dir"
  need npm "for $dir"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "deps: Node.js >= 20 is required for $dir, found $(node --version)" >&2
    exit 1
  fi
  echo "deps: npm ci in $dir"
  npm ci --prefix "$dir" --no-audit --no-fund
}

# Node.js packages of the relying-party interoperability tests (e2e/node, e2e/node_test.go)
# and of the notify and email e2e tests (MailDev and its smtp-server, real SMTP servers;
# devDependencies, which npm ci installs).
step_node_packages() { npm_ci_locked e2e/node; }

# oidc-provider, the upstream OpenID provider of the social login tests (e2e/upstream,
# started by e2e/social_util_test.go). GATEHOUSE_SKIP_NODE=1 makes the Node-based tests skip
# instead.
step_upstream_packages() { npm_ci_locked e2e/upstream; }

# Chromium for the real-browser passkey tests (e2e/browser_passkey_test.go, driven over the
# DevTools protocol with virtual WebAuthn authenticators): the Debian/Ubuntu package, through
# sudo when not root. GATEHOUSE_SKIP_BROWSER=1 makes those tests skip instead.
step_chromium() {
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
      echo "deps: $name is installed ($(command -v "$name"))"
      return
    fi
  done
  if [ "${GATEHOUSE_SKIP_BROWSER:-}" = 1 ]; then
    echo "deps: no Chromium, and GATEHOUSE_SKIP_BROWSER=1: the browser tests will be skipped"
    return
  fi
  need apt-get "to install Chromium (or install Chromium yourself, or set GATEHOUSE_SKIP_BROWSER=1)"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    need sudo "to install Chromium with apt-get (or install the chromium package yourself)"
    sudo=sudo
  fi
  echo "deps: apt-get install chromium"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update ||
    ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; then
    echo "deps: installing the chromium package failed; install Chromium yourself (the browser tests" >&2
    echo "deps: look for chromium, chromium-browser or google-chrome on PATH), or set GATEHOUSE_SKIP_BROWSER=1" >&2
    exit 1
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    echo "deps: apt-get installed chromium but it is not on PATH" >&2
    exit 1
  fi
}

# nginx, the front proxy of the forward-auth tests (e2e/fwdauth_nginx_test.go: auth_request
# to gatehouse_forward_auth) and of the forward-auth row of bench/run.sh: Debian's package
# (its auth_request module is built in), through sudo when not root. The tests run their own
# nginx with a configuration of their own; the package's service is neither needed nor
# started here (policy-rc.d answers 101 for the install). GATEHOUSE_SKIP_NGINX=1: the tests
# skip and the bench leaves the row out instead.
step_nginx() {
  if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    echo "deps: nginx is installed"
    return
  fi
  if [ "${GATEHOUSE_SKIP_NGINX:-}" = 1 ]; then
    echo "deps: no nginx, and GATEHOUSE_SKIP_NGINX=1: the forward-auth nginx tests will be skipped"
    return
  fi
  need apt-get "to install nginx (or install the nginx package yourself, or set GATEHOUSE_SKIP_NGINX=1)"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    need sudo "to install nginx with apt-get (or install the nginx package yourself)"
    sudo=sudo
  fi
  echo "deps: apt-get install nginx"
  # Keep the package's own service from starting (it would take port 80).
  local rc=/usr/sbin/policy-rc.d own_rc=0
  if [ ! -e "$rc" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$rc" >/dev/null && $sudo chmod 755 "$rc" && own_rc=1
  fi
  local ok=1
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx || ok=0
  fi
  if [ "$own_rc" = 1 ]; then $sudo rm -f "$rc"; fi
  if [ "$ok" != 1 ] || ! { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }; then
    echo "deps: installing the nginx package failed; install nginx yourself, or set GATEHOUSE_SKIP_NGINX=1" >&2
    exit 1
  fi
}

# A PostgreSQL server for the PostgreSQL store's tests (store/postgres, e2e/postgres_test.go):
# GATEHOUSE_TEST_POSTGRES (a DSN) if set, else postgres://postgres@127.0.0.1:5432/test with
# trust authentication. Each test works in a schema of its own and drops it. Nothing is
# installed here: without a server those tests skip, saying why (they fail instead under
# GATEHOUSE_REQUIRE_TOOLS=1, as in CI, and so does this step).
step_postgres() {
  local dsn=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
  local shown
  shown=$(printf '%s' "$dsn" | sed -E 's#(://[^:@/]*):[^@/]*@#\1:***@#; s#password=[^ ]*#password=***#')
  local ok=0
  if command -v psql >/dev/null 2>&1; then
    if psql "$dsn" -Atqc 'select 1' >/dev/null 2>&1; then ok=1; fi
  elif command -v pg_isready >/dev/null 2>&1; then
    if pg_isready -q -d "$dsn" -t 3; then ok=1; fi
  else
    # No client tools: try a TCP connection to the URL's host and port.
    local hostport host port
    hostport=$(printf '%s' "$dsn" | sed -nE 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#p')
    host=${hostport%%:*}
    port=${hostport##*:}
    [ "$port" = "$hostport" ] && port=5432
    if [ -n "$host" ] && timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then ok=1; fi
  fi
  if [ "$ok" = 1 ]; then
    echo "deps: PostgreSQL answers at $shown"
    return
  fi
  cat >&2 <<MSG
deps: no PostgreSQL server answers at $shown: the PostgreSQL store tests will be skipped.
deps: To get one on Debian/Ubuntu: apt-get install postgresql, set the 127.0.0.1 lines of
deps: pg_hba.conf to trust, restart it, and run: sudo -u postgres createdb test
deps: Or with Docker: docker run -d -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test -p 5432:5432 postgres:16
deps: Or point GATEHOUSE_TEST_POSTGRES at another server, as a DSN (postgres://user@host:port/db).
MSG
  if [ "${GATEHOUSE_REQUIRE_TOOLS:-}" = 1 ]; then
    echo "deps: GATEHOUSE_REQUIRE_TOOLS=1: a PostgreSQL server is required" >&2
    exit 1
  fi
}

STEPS=(
  step_node_packages
  step_upstream_packages
  step_chromium
  step_nginx
  step_postgres
)

for step in "${STEPS[@]}"; do
  "$step"
done
