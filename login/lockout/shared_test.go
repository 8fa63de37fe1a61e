package lockout_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// slowStore answers counter reads and writes after a millisecond, like a database over the
// network.
type slowStore struct{ store.Store }

func (s slowStore) GetCounter(ctx context.Context, key string, now time.Time) (int64, time.Time, error) {
	time.Sleep(time.Millisecond)
	return s.Store.GetCounter(ctx, key, now)
}

func (s slowStore) IncrementCounter(ctx context.Context, key string, delta int64, w time.Duration, now time.Time) (int64, time.Time, error) {
	time.Sleep(time.Millisecond)
	return s.Store.IncrementCounter(ctx, key, delta, w, now)
}

// sharedLimiters are n Limiters on one store, as n instances on one PostgreSQL database.
func sharedLimiters(s store.Store, clk *idptest.Clock, n int) []*lockout.Limiter {
	ls := make([]*lockout.Limiter, n)
	for i := range ls {
		ls[i] = &lockout.Limiter{Store: s, Now: clk.Now, Window: window, Shared: true}
	}
	return ls
}

// TestCR03_SharedBurstAcrossInstances: CR-03 / RB-08 across instances (issue 15: "lockout
// counters are shared so an attacker cannot multiply attempts by the number of
// instances"). 60 parallel wrong guesses spread over three Limiters sharing one store are
// evaluated at most limit times in all — not three times the limit — and then even the
// right credential is refused on every instance. Without Shared (the in-memory
// reservation) the same burst gets more than the limit through: the control that shows
// what the test measures.
func TestCR03_SharedBurstAcrossInstances(t *testing.T) {
	const limit = 5
	burst := func(ls []*lockout.Limiter) int {
		var evaluated atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				release, err := ls[i%len(ls)].Attempt(context.Background(), []string{"acct", "ip"}, []int{limit, 1000})
				var locked *lockout.LockedError
				if errors.As(err, &locked) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				evaluated.Add(1)
				release(false)
			}()
		}
		close(start)
		wg.Wait()
		return int(evaluated.Load())
	}
	clk := idptest.NewClock()
	s := memory.New()
	ls := sharedLimiters(s, clk, 3)
	if n := burst(ls); n > limit || n == 0 {
		t.Fatalf("60 parallel wrong guesses over 3 instances: %d evaluated, want 1..%d", n, limit)
	}
	for i, l := range ls {
		if try(t, l, []string{"acct", "ip"}, []int{limit, 1000}, true) {
			t.Errorf("instance %d: the right credential of a locked account was admitted", i)
		}
	}
	if n, _, err := s.GetCounter(context.Background(), "acct", clk.Now()); err != nil || n != limit {
		t.Errorf("account counter after the burst: %d (%v), want %d (refused attempts are taken back)", n, err, limit)
	}

	// The control: without Shared, three processes let more than the limit through.
	// The store answers slowly (a network round trip), so the guesses overlap.
	slow := slowStore{memory.New()}
	ls = sharedLimiters(slow, clk, 3)
	if n := burst(ls); n > limit || n == 0 {
		t.Fatalf("on a slow store: %d evaluated, want 1..%d", n, limit)
	}
	local := make([]*lockout.Limiter, 3)
	s2 := slowStore{memory.New()}
	for i := range local {
		local[i] = newLimiter(s2, clk)
	}
	if n := burst(local); n <= limit {
		t.Errorf("control: in-memory reservations over 3 instances evaluated %d, want more than %d (the test would prove nothing)", n, limit)
	}
}

// TestSharedHonestAttempts: with Shared, an honest success resets the account's counter and
// takes its attempt back from the others, so that successes never lock an IP; failures
// count on every key; a limit of failures locks the account for everyone, and a refused
// attempt counts nothing.
func TestSharedHonestAttempts(t *testing.T) {
	clk := idptest.NewClock()
	s := memory.New()
	ls := sharedLimiters(s, clk, 2)
	keys, limits := []string{"acct", "ip"}, []int{3, 10}
	for i := range 50 {
		if !try(t, ls[i%2], keys, limits, true) {
			t.Fatalf("honest attempt %d refused", i)
		}
	}
	ctx := context.Background()
	for _, k := range keys {
		if n, _, _ := s.GetCounter(ctx, k, clk.Now()); n != 0 {
			t.Fatalf("counter %s after 50 successes: %d, want 0", k, n)
		}
	}
	for i := range 3 {
		if !try(t, ls[i%2], keys, limits, false) {
			t.Fatalf("failure %d refused before the limit", i)
		}
	}
	if try(t, ls[1], keys, limits, true) || try(t, ls[0], keys, limits, true) {
		t.Fatal("right credential admitted after limit failures")
	}
	if n, _, _ := s.GetCounter(ctx, "ip", clk.Now()); n != 3 {
		t.Fatalf("IP counter %d, want 3 (refused attempts take their increments back)", n)
	}
	// The window ends: attempts are admitted again.
	clk.Advance(window)
	if !try(t, ls[0], keys, limits, true) {
		t.Fatal("attempt after the window refused")
	}
}
