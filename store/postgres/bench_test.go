package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// The benchmarks mirror store/badger/bench_test.go on PostgreSQL (the test server, see
// pgtest, a schema per benchmark), and BenchmarkCompare runs the single-use writes on
// both stores in one run:
//
//	go test ./store/postgres -run '^$' -bench Compare -benchtime 2s
//
// Every write is durable when it returns (Badger: SyncWrites; PostgreSQL: synchronous
// commit), so the numbers measure the machine's fsync and how each store shares it between
// concurrent writers: run them on the target hardware, on a quiet machine.

var benchNow = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

func benchPostgres(b *testing.B) *postgres.Store {
	b.Helper()
	return openTest(b, postgres.Options{DSN: pgtest.Need(b), Schema: pgtest.Schema(b), MaxConns: 16})
}

func benchBadger(b *testing.B) *badger.Store {
	b.Helper()
	s, err := badger.Open(badger.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchUser(i int) store.User {
	return store.User{ID: fmt.Sprintf("usr_%016x", i), Email: fmt.Sprintf("user%d@example.com", i), EmailVerified: true,
		FirstName: "Ada", LastName: "Lovelace", Groups: []string{"staff"}, CreatedAt: benchNow, UpdatedAt: benchNow}
}

func benchSession(i int, userID string) store.Session {
	return store.Session{
		ID: fmt.Sprintf("%064x", i), UserID: userID, AuthTime: benchNow, AMR: []string{"pwd"},
		CreatedAt: benchNow, LastSeenAt: benchNow, IdleExpiresAt: benchNow.Add(time.Hour),
		AbsoluteExpiresAt: benchNow.Add(24 * time.Hour),
		UserAgent:         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)", IP: "192.0.2.1",
	}
}

func benchCode(i int) store.AuthCode {
	return store.AuthCode{
		ID: fmt.Sprintf("%064x", i), ClientID: "app", RedirectURI: "https://app.example/cb", UserID: "usr_1", SessionID: "sess_1",
		Scopes: []string{"openid"}, AuthTime: benchNow, CreatedAt: benchNow,
		ExpiresAt: benchNow.Add(time.Minute), PurgeAfter: benchNow.Add(time.Hour),
	}
}

func benchOTP(i int) store.OneTimeCode {
	return store.OneTimeCode{ID: fmt.Sprintf("%064x", i), Purpose: "email_code", Subject: "ada@example.com",
		CreatedAt: benchNow, ExpiresAt: benchNow.Add(10 * time.Minute)}
}

// benchChainToken is token n of refresh-token chain c (one family per chain).
func benchChainToken(c, n int) store.RefreshToken {
	t := benchRefresh(fmt.Sprintf("%032x%032x", c, n), fmt.Sprintf("fam-%d", c))
	t.CreatedAt = benchNow
	return t
}

// --- the Badger benchmarks, on PostgreSQL ---

func BenchmarkGetUser(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	const n = 1000
	fill(b, n, func(i int) error { return s.CreateUser(ctx, benchUser(i)) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.GetUser(ctx, benchUser(i%n).ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetSession(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	const n = 1000
	fill(b, n, func(i int) error { return s.CreateSession(ctx, benchSession(i, "usr_1")) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.GetSession(ctx, benchSession(i%n, "usr_1").ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateSession(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.CreateSession(ctx, benchSession(i, "usr_1")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateSessionParallel shows PostgreSQL's group commit: concurrent commits
// share a WAL flush.
func BenchmarkCreateSessionParallel(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.CreateSession(ctx, benchSession(int(next.Add(1)), "usr_1")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRedeemAuthCode(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if err := s.CreateAuthCode(ctx, benchCode(i)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.RedeemAuthCode(ctx, benchCode(i).ID, "grant", benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	if err := s.CreateRefreshToken(ctx, benchChainToken(0, 0)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.RotateRefreshToken(ctx, benchChainToken(0, i).ID, benchChainToken(0, i+1), benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrementCounter(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.IncrementCounter(ctx, "login:ada@example.com", 1, time.Hour, benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListRevocations(b *testing.B) {
	s, ctx := benchPostgres(b), context.Background()
	fill(b, 200, func(i int) error {
		return s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: fmt.Sprintf("%064x", i),
			At: benchNow, ExpiresAt: benchNow.Add(time.Hour)})
	})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if l, err := s.ListRevocations(ctx, benchNow.Add(-time.Minute), benchNow); err != nil || len(l) != 200 {
			b.Fatal(len(l), err)
		}
	}
}

// --- side by side ---

// BenchmarkCompare runs each single-use write on Badger and on PostgreSQL from 1 and from 8
// goroutines and reports ops/s. Every operation is one durable write of a record that the
// setup (outside the timer) created: a code redeemed, a refresh token rotated (each
// goroutine its own chain), a one-time code burned, a counter incremented (all goroutines on
// one key: a lockout counter under attack; and on distinct keys), a session created.
func BenchmarkCompare(b *testing.B) {
	ctx := context.Background()
	type op struct {
		name  string
		setup func(s store.Store, n, workers int) error
		run   func(s store.Store, worker, i int) error
	}
	ops := []op{
		{"redeem_code", func(s store.Store, n, _ int) error {
			return fillErr(n, func(i int) error { return s.CreateAuthCode(ctx, benchCode(i)) })
		}, func(s store.Store, _, i int) error {
			_, err := s.RedeemAuthCode(ctx, benchCode(i).ID, "grant", benchNow)
			return err
		}},
		{"rotate_refresh", func(s store.Store, _, workers int) error {
			return fillErr(workers, func(w int) error { return s.CreateRefreshToken(ctx, benchChainToken(w, 0)) })
		}, nil}, // run is set below: it needs per-worker state
		{"burn_otp", func(s store.Store, n, _ int) error {
			return fillErr(n, func(i int) error { return s.CreateOneTimeCode(ctx, benchOTP(i)) })
		}, func(s store.Store, _, i int) error {
			_, err := s.ConsumeOneTimeCode(ctx, benchOTP(i).ID)
			return err
		}},
		{"counter_one_key", nil, func(s store.Store, _, _ int) error {
			_, _, err := s.IncrementCounter(ctx, "login:ada@example.com", 1, time.Hour, benchNow)
			return err
		}},
		{"counter_many_keys", nil, func(s store.Store, _, i int) error {
			_, _, err := s.IncrementCounter(ctx, fmt.Sprintf("login:user%d@example.com", i), 1, time.Hour, benchNow)
			return err
		}},
		{"create_session", nil, func(s store.Store, _, i int) error {
			return s.CreateSession(ctx, benchSession(i, benchUser(i%100).ID))
		}},
	}
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"badger", func(b *testing.B) store.Store { return benchBadger(b) }},
		{"postgres", func(b *testing.B) store.Store { return benchPostgres(b) }},
	}
	for _, o := range ops {
		for _, workers := range []int{1, 8} {
			for _, st := range stores {
				b.Run(fmt.Sprintf("%s/p%d/%s", o.name, workers, st.name), func(b *testing.B) {
					s := st.open(b)
					warm(b, s, workers)
					if o.setup != nil {
						if err := o.setup(s, b.N, workers); err != nil {
							b.Fatal(err)
						}
					}
					run := o.run
					if run == nil { // rotate_refresh: each worker rotates its own chain
						var mu sync.Mutex
						pos := make([]int, workers)
						run = func(s store.Store, w, _ int) error {
							mu.Lock()
							n := pos[w]
							pos[w]++
							mu.Unlock()
							_, err := s.RotateRefreshToken(ctx, benchChainToken(w, n).ID, benchChainToken(w, n+1), benchNow)
							return err
						}
					}
					parallelN(b, workers, func(w, i int) error { return run(s, w, i) })
				})
			}
		}
	}
}

// warm makes the store ready for workers concurrent callers before the timer starts (the
// connection pool grows on demand).
func warm(b *testing.B, s store.Store, workers int) {
	b.Helper()
	fill(b, 20*workers, func(i int) error {
		_, err := s.GetUser(context.Background(), benchUser(i).ID)
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	})
}

// parallelN times fn(worker, i) for i in 0..b.N-1 spread over workers goroutines and
// reports the throughput.
func parallelN(b *testing.B, workers int, fn func(w, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := fn(w, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// fill calls fn(0..n-1) from 8 goroutines, failing the benchmark on an error.
func fill(b *testing.B, n int, fn func(i int) error) {
	b.Helper()
	if err := fillErr(n, fn); err != nil {
		b.Fatal(err)
	}
}

// fillErr calls fn(0..n-1) from 8 goroutines (concurrent writers share fsyncs) and returns
// the first error.
func fillErr(n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
