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
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

const window = 15 * time.Minute

func newLimiter(s store.Store, clk *idptest.Clock) *lockout.Limiter {
	return &lockout.Limiter{Store: s, Now: clk.Now, Window: window}
}

// try makes one attempt and releases it with ok; it reports whether the attempt was
// admitted, and fails the test on anything but a *LockedError.
func try(t *testing.T, l *lockout.Limiter, keys []string, limits []int, ok bool) bool {
	t.Helper()
	release, err := l.Attempt(context.Background(), keys, limits)
	var locked *lockout.LockedError
	if errors.As(err, &locked) {
		if locked.RetryAfter <= 0 || locked.RetryAfter > window {
			t.Fatalf("RetryAfter %v", locked.RetryAfter)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	release(ok)
	return true
}

// TestSuccessWritesNothing: an honest attempt, with no failures stored, writes no counter;
// a success after failures writes once (the reset of the first counter), and the other
// counters keep their failures.
func TestSuccessWritesNothing(t *testing.T) {
	clk := idptest.NewClock()
	cs := &idptest.CountingStore{Store: memory.New()}
	l := newLimiter(cs, clk)
	keys, limits := []string{"acct", "ip"}, []int{5, 50}
	for i := 0; i < 100; i++ {
		if !try(t, l, keys, limits, true) {
			t.Fatal("honest attempt refused")
		}
	}
	if n := cs.CounterWrites(); n != 0 {
		t.Fatalf("%d counter writes for 100 successes; want none", n)
	}
	for i := 0; i < 2; i++ {
		try(t, l, keys, limits, false)
	}
	if n := cs.CounterWrites(); n != 4 {
		t.Fatalf("%d counter writes for 2 failures on 2 keys; want 4", n)
	}
	try(t, l, keys, limits, true)
	if n := cs.CounterWrites(); n != 5 {
		t.Fatalf("%d counter writes after the success; want one more (the reset)", n)
	}
	if n, _, _ := cs.GetCounter(context.Background(), "acct", clk.Now()); n != 0 {
		t.Fatalf("account failures after a success: %d", n)
	}
	if n, _, _ := cs.GetCounter(context.Background(), "ip", clk.Now()); n != 2 {
		t.Fatalf("IP failures after a success: %d; want 2", n)
	}
}

// TestLockUntilWindowEnds: after limit failures the next attempt is refused, a right
// credential too, until the window ends.
func TestLockUntilWindowEnds(t *testing.T) {
	clk := idptest.NewClock()
	l := newLimiter(memory.New(), clk)
	keys, limits := []string{"client:web:192.0.2.1"}, []int{10}
	for i := 0; i < 10; i++ {
		if !try(t, l, keys, limits, false) {
			t.Fatalf("failure %d refused before the limit", i+1)
		}
	}
	if try(t, l, keys, limits, true) {
		t.Fatal("11th attempt admitted after 10 failures")
	}
	clk.Advance(window - time.Second)
	if try(t, l, keys, limits, true) {
		t.Fatal("admitted before the window ended")
	}
	clk.Advance(time.Second)
	if !try(t, l, keys, limits, true) {
		t.Fatal("refused after the window ended")
	}
}

// TestParallelGuesses: CR-03 — parallel wrong guesses are evaluated at most limit times,
// however many arrive at once and however slow the evaluation; the rest are refused, and
// the key stays locked for a right credential.
func TestParallelGuesses(t *testing.T) {
	clk := idptest.NewClock()
	s := memory.New()
	l := newLimiter(s, clk)
	keys, limits := []string{"client:web:192.0.2.1", "ip"}, []int{5, 100}
	var evaluated, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Attempt(context.Background(), keys, limits)
			var locked *lockout.LockedError
			if errors.As(err, &locked) {
				refused.Add(1)
				return
			} else if err != nil {
				t.Error(err)
				return
			}
			evaluated.Add(1)
			time.Sleep(time.Millisecond) // a slow check widens the race
			release(false)
		}()
	}
	wg.Wait()
	if evaluated.Load() != 5 || refused.Load() != 45 {
		t.Fatalf("%d evaluated, %d refused; want 5 and 45", evaluated.Load(), refused.Load())
	}
	if n, _, _ := s.GetCounter(context.Background(), keys[0], clk.Now()); n != 5 {
		t.Fatalf("stored failures %d; want 5", n)
	}
	if try(t, l, keys, limits, true) {
		t.Fatal("right credential admitted under the lock")
	}
}

// TestParallelHonest: many parallel honest attempts of one key are all admitted (the
// reservations of attempts in flight make others wait, never refuse them), and write
// nothing.
func TestParallelHonest(t *testing.T) {
	clk := idptest.NewClock()
	cs := &idptest.CountingStore{Store: memory.New()}
	l := newLimiter(cs, clk)
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Attempt(context.Background(), []string{"client:web:192.0.2.1"}, []int{3})
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
			release(true)
		}()
	}
	wg.Wait()
	if n := cs.CounterWrites(); n != 0 {
		t.Fatalf("%d counter writes", n)
	}
}

// TestCanceledWhileWaiting: a request canceled while it waits for a reservation counts
// nothing.
func TestCanceledWhileWaiting(t *testing.T) {
	clk := idptest.NewClock()
	s := memory.New()
	l := newLimiter(s, clk)
	keys, limits := []string{"k"}, []int{1}
	release, err := l.Attempt(context.Background(), keys, limits)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Attempt(ctx, keys, limits); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting attempt: %v", err)
	}
	release(true)
	if !try(t, l, keys, limits, true) {
		t.Fatal("refused after the reservation was released")
	}
}

// TestFailuresSurviveRestart: failures are durable — a new process on the same Badger
// database is still locked — and successes left nothing behind to survive.
func TestFailuresSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	clk := idptest.NewClock()
	keys, limits := []string{"client:web:192.0.2.1"}, []int{3}
	open := func() *badger.Store {
		s, err := badger.Open(badger.Options{Path: dir})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	l := newLimiter(s, clk)
	for i := 0; i < 3; i++ {
		try(t, l, keys, limits, false)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	if try(t, newLimiter(s, clk), keys, limits, true) {
		t.Fatal("admitted after a restart despite 3 stored failures")
	}
}

// TestSharedStore: two limiters (two processes) on one store share the failures: the
// second is locked by the first one's.
func TestSharedStore(t *testing.T) {
	clk := idptest.NewClock()
	s := memory.New()
	a, b := newLimiter(s, clk), newLimiter(s, clk)
	keys, limits := []string{"k"}, []int{4}
	for i := 0; i < 4; i++ {
		try(t, []*lockout.Limiter{a, b}[i%2], keys, limits, false)
	}
	if try(t, a, keys, limits, true) || try(t, b, keys, limits, true) {
		t.Fatal("admitted after 4 failures spread over two processes")
	}
}
