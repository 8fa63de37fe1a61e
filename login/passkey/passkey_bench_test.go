package passkey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/bench/benchstore"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// passkeyBenchIssuer is the issuer of the passkey benchmarks (a domain name: WebAuthn refuses
// IP addresses).
const passkeyBenchIssuer = "https://login.example.com"

// passkeyBenchProvider builds a provider as module/app.go does, on a Badger store on disk in
// b.TempDir() (SyncWrites: every ceremony record, passkey update and session is fsynced, as
// in production) or, with GATEHOUSE_BENCH_STORE=postgres, on the PostgreSQL test server
// (synchronous commit).
func passkeyBenchProvider(b testing.TB) *idp.Provider {
	b.Helper()
	ctx := context.Background()
	s := benchstore.Open(b)
	ring, err := keys.Load(ctx, s, keys.Algorithms, time.Now)
	if err != nil {
		b.Fatalf("keys: %v", err)
	}
	p, err := idp.New(idp.Config{Issuer: passkeyBenchIssuer, SignupMode: idp.SignupOpen}, s, ring,
		password.New(idptest.FastHash, 0), tokens.NewRevocationList(time.Now, 0), nil, time.Now, nil)
	if err != nil {
		b.Fatalf("provider: %v", err)
	}
	return p
}

// passkeyBenchSignup creates a passkey account for email with auth.
func passkeyBenchSignup(b testing.TB, p *idp.Provider, auth *softauthn.Authenticator, email, ip string) {
	b.Helper()
	ctx := context.Background()
	c, err := p.Passkey.BeginSignup(ctx, account.NewUser{Email: email}, "", ip)
	if err != nil {
		b.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	resp, _, err := auth.Create(opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Passkey.FinishSignup(ctx, c.Secret, resp, ""); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPasskeyLogin: server-side passkey logins per second, as the JSON API runs them —
// BeginPasskeyLogin (challenge stored as a one-time code), FinishPasskeyLogin (ceremony
// consumed, credential and user looked up, assertion verified, signature counter stored) and
// StartSession — on a Badger store on disk. The authenticator's work (parsing the options
// and signing the assertion, client side) is excluded from the timing: the timer stops while
// it signs each iteration's fresh challenge. The store holds 100 passkey accounts.
func BenchmarkPasskeyLogin(b *testing.B) {
	for _, mode := range []string{"usernameless", "identifier-first"} {
		b.Run(mode, func(b *testing.B) {
			p := passkeyBenchProvider(b)
			ctx := context.Background()
			auths := make([]*softauthn.Authenticator, 100)
			for i := range auths {
				auths[i] = softauthn.New(passkeyBenchIssuer)
				passkeyBenchSignup(b, p, auths[i], fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("192.0.2.%d", i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n := i % len(auths)
				email := ""
				if mode == "identifier-first" {
					email = fmt.Sprintf("user%d@example.com", n)
				}
				c, err := p.Passkey.BeginLogin(ctx, email)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				opts, err := json.Marshal(c.Options)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := auths[n].Get(opts)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				r, err := p.Passkey.FinishLogin(ctx, c.Secret, resp)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := p.Sessions.Start(ctx, r.User, r.AMR, sessions.Meta{Passkey: r.Passkey}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}

// BenchmarkPasskeyLoginParallel is the usernameless BenchmarkPasskeyLogin from
// 8×GOMAXPROCS goroutines at once, each logging in its own account (a passkey's signature
// counter must only grow, so one authenticator is never used by two goroutines at once):
// concurrent transactions share the store's syncs (Badger's fsyncs overlap; PostgreSQL's
// WAL flush commits every transaction waiting for it, group commit). The authenticator's
// signing (~0.1 ms, client side) cannot be excluded from a parallel timing and is included.
func BenchmarkPasskeyLoginParallel(b *testing.B) {
	p := passkeyBenchProvider(b)
	ctx := context.Background()
	b.SetParallelism(8)
	auths := make([]*softauthn.Authenticator, 8*runtime.GOMAXPROCS(0))
	for i := range auths {
		auths[i] = softauthn.New(passkeyBenchIssuer)
		passkeyBenchSignup(b, p, auths[i], fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("192.0.2.%d", i%250))
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		auth := auths[int(next.Add(1)-1)%len(auths)]
		for pb.Next() {
			c, err := p.Passkey.BeginLogin(ctx, "")
			if err != nil {
				b.Error(err)
				return
			}
			opts, err := json.Marshal(c.Options)
			if err != nil {
				b.Error(err)
				return
			}
			resp, err := auth.Get(opts)
			if err != nil {
				b.Error(err)
				return
			}
			r, err := p.Passkey.FinishLogin(ctx, c.Secret, resp)
			if err != nil {
				b.Error(err)
				return
			}
			if _, _, err := p.Sessions.Start(ctx, r.User, r.AMR, sessions.Meta{Passkey: r.Passkey}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkPasskeyRegistration: server-side passkey sign-ups per second — BeginPasskeySignup
// (sign-up counter, email check, ceremony stored) and FinishPasskeySignup (attestation
// verified, user and passkey created) on a Badger store on disk; the authenticator's key
// generation and encoding run with the timer stopped. Every iteration uses its own client IP
// (the sign-up limit per IP is not what is measured).
func BenchmarkPasskeyRegistration(b *testing.B) {
	p := passkeyBenchProvider(b)
	ctx := context.Background()
	auth := softauthn.New(passkeyBenchIssuer)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		c, err := p.Passkey.BeginSignup(ctx, account.NewUser{Email: fmt.Sprintf("new%d@example.com", i)}, "", ip)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		opts, err := json.Marshal(c.Options)
		if err != nil {
			b.Fatal(err)
		}
		resp, _, err := auth.Create(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := p.Passkey.FinishSignup(ctx, c.Secret, resp, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signups/s")
}
