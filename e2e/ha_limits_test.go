//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// haLimitsInstance is one instance of the attempt-limit test: the shared schema, the
// gatehouse body of the code tests (email through MailDev) plus its lockout settings, and a
// portal that says which instance answered (X-Instance).
const haLimitsInstance = `{
	admin 127.0.0.1:%[1]d
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system %[2]s/caddy
	log {
		output file %[2]s/caddy.log
		level WARN
	}
	gatehouse {
		issuer %[3]s
		storage postgres {env.GATEHOUSE_E2E_DATABASE_URL} {
			schema %[4]s
		}
		%[5]s
	}
}

http://:%[6]d {
	bind 127.0.0.1
	header X-Instance %[7]s
	gatehouse_portal
}
`

// haLimitsBalancer balances the two portals round robin.
const haLimitsBalancer = `{
	admin 127.0.0.1:%[1]d
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system %[2]s/caddy
	log {
		output file %[2]s/caddy.log
		level WARN
	}
}

http://:%[3]d {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:%[4]d 127.0.0.1:%[5]d {
		lb_policy round_robin
		lb_try_duration 3s
	}
}
`

// TestCR03_HALimitsShared: issue 15 — "rate-limit and lockout counters are shared so an
// attacker cannot multiply attempts by the number of instances". Two gatehouse processes
// on one PostgreSQL schema behind a round-robin balancer:
//
//   - CR-03: 30 parallel wrong passwords for one account, spread over both instances, get
//     at most account_max_failures (5) answers "invalid credentials" — not 2×5 — and the
//     rest 429; then the right password is refused on each instance, asked directly.
//   - CR-09: 40 parallel wrong email codes over 4 challenges of one account, spread over
//     both instances, take at most the account's 10 code failures; the right code of the
//     latest challenge is then refused (429) — the code attempt counter is shared too.
func TestCR03_HALimitsShared(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gatehouse processes (skipped under -short)")
	}
	h := newHAPair(t)
	m := otStartMailDev(t)
	tw := otStartTwilio(t)
	rp := freePort(t)
	body := otGatehouse(m, tw, "lockout {\n\t\t\taccount_max_failures 5\n\t\t\tip_max_failures 1000\n\t\t}", "")
	body = strings.NewReplacer("{{.App}}", h.App, "{{.RP}}", fmt.Sprintf("http://127.0.0.1:%d", rp)).Replace(body)
	h.Start(func(name string, p haPorts) string {
		return fmt.Sprintf(haLimitsInstance, p.Admin, h.Dir(name), h.Issuer, h.Schema, body, p.Portal, name)
	}, fmt.Sprintf(haLimitsBalancer, h.LB.Admin, h.Dir("lb"), h.LB.Portal, h.A.Portal, h.B.Portal))
	e := &otEnv{Env: h.Env(nil), mail: m, sms: tw}
	pg, err := postgres.Open(context.Background(), postgres.Options{DSN: pgtest.DSN(), Schema: h.Schema, SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })
	instances := func(rs []*Resp) map[string]int {
		n := map[string]int{}
		for _, r := range rs {
			n[r.Header.Get("X-Instance")]++
		}
		return n
	}

	t.Run("password burst over both instances", func(t *testing.T) {
		const email = "lee@example.test"
		e.CreateUser(email)
		c := e.client(t)
		rs := otParallel(30, func(i int) *Resp {
			return c.api("/api/v1/login/password", map[string]string{"email": email, "password": fmt.Sprintf("wrong-%d", i)})
		})
		tally, by := otTally(rs), instances(rs)
		t.Logf("30 parallel wrong passwords: %v; answered by %v", tally, by)
		if by["a"] == 0 || by["b"] == 0 {
			t.Fatalf("the burst did not reach both instances: %v", by)
		}
		if n := tally["401 invalid_credentials"]; n == 0 || n > 5 || tally["429 too_many_attempts"] != 30-n {
			t.Errorf("30 parallel wrong passwords over 2 instances: %v; want 1..5 invalid_credentials (account_max_failures 5), the rest 429", tally)
		}
		if n, _, err := pg.GetCounter(Ctx(t), "login:account:"+secret.Hash(email), time.Now()); err != nil || n > 5 {
			t.Errorf("the account's failure counter in PostgreSQL: %d (%v), want ≤ 5", n, err)
		}
		for _, p := range []haPorts{h.A, h.B} {
			r := Do(t, API, NewRequest(t, http.MethodPost, p.PortalURL()+"/api/v1/login/password",
				map[string]string{"email": email, "password": Password}))
			otAPIError(t, fmt.Sprintf("right password at instance %s", r.Header.Get("X-Instance")), r, http.StatusTooManyRequests, "too_many_attempts")
		}
	})

	t.Run("code guesses over both instances", func(t *testing.T) {
		const email = "pia@example.test"
		u := e.CreateUser(email)
		clients := make([]*otClient, 4)
		var code string
		for i := range clients {
			clients[i] = e.client(t)
			otWant(t, "start", clients[i].api("/api/v1/login/email-code/start", map[string]string{"email": email}), http.StatusAccepted)
			code = e.mail.next(email, otSubjCode).code(t)
		}
		rs := otParallel(40, func(i int) *Resp {
			return clients[i%4].api("/api/v1/login/code/verify", map[string]string{"code": otWrongCode(code, i)})
		})
		tally, by := otTally(rs), instances(rs)
		t.Logf("40 parallel wrong codes on 4 challenges: %v; answered by %v", tally, by)
		if by["a"] == 0 || by["b"] == 0 {
			t.Fatalf("the guesses did not reach both instances: %v", by)
		}
		// Every try not refused as locked took one of the account's 10 slots.
		counted := len(rs) - tally["429 too_many_attempts"]
		if counted > 10 || tally["401 invalid_code"] == 0 || tally["200 "] > 0 {
			t.Errorf("40 parallel wrong codes over 2 instances: %v; %d counted, want 1..10 and the rest 429", tally, counted)
		}
		if n, _, err := pg.GetCounter(Ctx(t), "code:account:"+u, time.Now()); err != nil || n > 10 {
			t.Errorf("the account's code failure counter in PostgreSQL: %d (%v), want ≤ 10", n, err)
		}
		otAPIError(t, "right code of the latest challenge", clients[3].api("/api/v1/login/code/verify", map[string]string{"code": code}),
			http.StatusTooManyRequests, "too_many_attempts")
	})
}
