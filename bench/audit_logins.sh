#!/usr/bin/env bash
# Password logins/s with the audit trail (this tree) vs without (BASE, default 8db431a: before it),
# server pinned to CPU 1, load on CPU 0, like bench/run.sh "password logins".
set -euo pipefail
W=$(mktemp -d /tmp/gatehouse-auditbench.XXXXXX)
cd "$(dirname "$0")/.."; BASE=${BASE:-8db431a}
go build -o $W/gh-audit ./cmd/gatehouse
go build -o $W/benchtool ./bench/benchtool
rm -rf $W/base && mkdir -p $W/base && git archive "$BASE" | tar -x -C $W/base
(cd $W/base && go build -o $W/gh-base ./cmd/gatehouse)
ISSUER=http://127.0.0.1:19400
cfg() { # $1 data dir, $2 extra
cat <<C
{
	admin 127.0.0.1:19419
	persist_config off
	auto_https off
	log {
		level ERROR
	}
	$2
	gatehouse {
		issuer $ISSUER
		storage badger $1
		signup open
		lockout {
			account_max_failures 100000000
			ip_max_failures 100000000
		}
	}
}
http://127.0.0.1:19400 {
	gatehouse_portal
}
C
}
for v in base audit; do
  rm -rf $W/data.$v; $W/benchtool seed -store $W/data.$v -users 100 >/dev/null
done
cfg $W/data.base "" > $W/Caddyfile.base
cfg $W/data.audit "log audit {
		output file $W/audit.log
		format json
		include gatehouse.audit
	}" > $W/Caddyfile.audit
: > $W/results.txt
for rep in 1 2 3; do
  for v in base audit; do
    taskset -c 1 $W/gh-$v run --config $W/Caddyfile.$v > $W/server.$v.log 2>&1 &
    S=$!
    for _ in $(seq 1 100); do curl -sf -o /dev/null $ISSUER/.well-known/openid-configuration && break; sleep 0.1; done
    r=$(taskset -c 0 $W/benchtool logins -issuer $ISSUER -c 4 -d 10s 2>&1 | tail -1)
    echo "$v #$rep: $r" | tee -a $W/results.txt
    kill $S; wait $S 2>/dev/null || true
  done
done
echo "audit log lines: $(wc -l < $W/audit.log)" | tee -a $W/results.txt
