package otp_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/bench/benchstore"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// otBenchMessenger keeps the last code and link per address: delivery costs nothing, so the
// benchmarks measure the provider and the store.
type otBenchMessenger struct {
	mu    sync.Mutex
	codes map[string]string
	links map[string]string
}

func (m *otBenchMessenger) SendEmail(kind, to string, v otp.MessageVars) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v.Link != "" {
		m.links[to] = v.Link
	} else {
		m.codes[to] = v.Code
	}
	return nil
}

func (m *otBenchMessenger) SendSMS(kind, to string, v otp.MessageVars) error {
	return m.SendEmail(kind, to, v)
}

func (m *otBenchMessenger) take(to string, link bool) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if link {
		return m.links[to]
	}
	return m.codes[to]
}

// otBenchProvider builds a provider as module/app.go does, on a Badger store on disk in
// b.TempDir() (SyncWrites: every write is fsynced, as in production) or, with
// GATEHOUSE_BENCH_STORE=postgres, on the PostgreSQL test server (synchronous commit), with email codes and
// magic links on and users user0..user{n-1}@example.com. Its clock moves 16 minutes ahead on
// every call of advance, so that the send limits of one address (5 per 15 minutes, CR-12) and
// the lockout windows never refuse a benchmark iteration; everything else is the production
// path.
func otBenchProvider(b *testing.B, users int) (*idp.Provider, *otBenchMessenger, func()) {
	b.Helper()
	ctx := context.Background()
	s := benchstore.Open(b)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ring, err := keys.Load(ctx, s, keys.Algorithms, now)
	if err != nil {
		b.Fatalf("keys: %v", err)
	}
	m := &otBenchMessenger{codes: map[string]string{}, links: map[string]string{}}
	p, err := idp.New(idp.Config{Issuer: idptest.Issuer, SignupMode: idp.SignupClosed, Messenger: m, EmailEnabled: true,
		Methods: []string{otp.MethodEmailCode, otp.MethodMagicLink}}, s, ring,
		password.New(idptest.FastHash, 0), tokens.NewRevocationList(now, 0), nil, now, nil)
	if err != nil {
		b.Fatalf("provider: %v", err)
	}
	for i := range users {
		if _, err := p.CreateUser(ctx, account.NewUser{Email: fmt.Sprintf("user%d@example.com", i), EmailVerified: true}); err != nil {
			b.Fatal(err)
		}
	}
	return p, m, func() { offset.Add(int64(16 * time.Minute)) }
}

// BenchmarkOTPVerify: email-code logins per second, server side — StartEmailCodeLogin (send
// limits counted, the code's record and the address's "latest" pointer written, the message
// handed to the messenger) then FinishCodeLogin (attempt counters reserved, the attempt
// counted, the code compared, checked to be the latest, consumed, counters released) — on
// Badger on disk with fsync. One iteration is one start and one verification of a right code,
// for one of 100 accounts in turn; verifications/s counts the iterations.
func BenchmarkOTPVerify(b *testing.B) {
	p, m, advance := otBenchProvider(b, 100)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		email, ip := fmt.Sprintf("user%d@example.com", i%100), fmt.Sprintf("198.51.100.%d", i%200)
		if i%100 == 0 {
			advance()
		}
		i++
		flow, err := p.EmailCode.Begin(ctx, email, "en", ip)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.CodeLogin.Finish(ctx, flow, m.take(email, false), ip); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkOTPVerifyParallel is BenchmarkOTPVerify from 8×GOMAXPROCS goroutines at once, as
// concurrent requests would (Badger's fsyncs of concurrent transactions overlap; PostgreSQL's
// WAL flush commits every transaction waiting for it, group commit), on the real clock: every iteration
// has an account of its own (created before the timer starts), so no send limit is reached
// and no code supersedes another.
func BenchmarkOTPVerifyParallel(b *testing.B) {
	p, m, _ := otBenchProvider(b, b.N)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) - 1
			email, ip := fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("198.51.%d.%d", i/20/250%250, i/20%250)
			flow, err := p.EmailCode.Begin(ctx, email, "en", ip)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := p.CodeLogin.Finish(ctx, flow, m.take(email, false), ip); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkMagicLink: magic-link logins per second, server side — StartMagicLink then
// RedeemMagicLink in the asking browser — on Badger on disk with fsync.
func BenchmarkMagicLink(b *testing.B) {
	p, m, advance := otBenchProvider(b, 100)
	ctx := context.Background()
	prefix := idptest.Issuer + "/login/magic#"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		email, ip := fmt.Sprintf("user%d@example.com", i%100), fmt.Sprintf("198.51.100.%d", i%200)
		if i%100 == 0 {
			advance()
		}
		i++
		nonce, err := p.MagicLink.Begin(ctx, email, "", "en", ip)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.MagicLink.Finish(ctx, strings.TrimPrefix(m.take(email, true), prefix), nonce, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}
