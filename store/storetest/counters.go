package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testCounters: fixed-window counters add up within a window, restart after it, and reset.
func testCounters(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("attempts add up within the window", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		n, end, err := s.IncrementCounter(ctx, "login:ada", 1, time.Minute, base)
		ok(t, err, "first")
		if n != 1 || !end.Equal(at(time.Minute)) {
			t.Fatalf("first: (%d, %v), want (1, %v)", n, end, at(time.Minute))
		}
		n, end, err = s.IncrementCounter(ctx, "login:ada", 2, time.Hour, at(30*time.Second))
		ok(t, err, "second")
		if n != 3 || !end.Equal(at(time.Minute)) {
			t.Fatalf("second: (%d, %v), want (3, %v): the window must not move", n, end, at(time.Minute))
		}
		n, end, err = s.GetCounter(ctx, "login:ada", at(59*time.Second))
		ok(t, err, "get")
		if n != 3 || !end.Equal(at(time.Minute)) {
			t.Fatalf("get: (%d, %v), want (3, %v)", n, end, at(time.Minute))
		}
		n, _, err = s.GetCounter(ctx, "login:bob", base)
		ok(t, err, "get other")
		if n != 0 {
			t.Fatalf("other counter: %d", n)
		}
	})

	t.Run("attempts start over when the window ends", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		_, _, err := s.IncrementCounter(ctx, "k", 5, time.Minute, base)
		ok(t, err, "first window")
		n, end, err := s.GetCounter(ctx, "k", at(time.Minute))
		ok(t, err, "get at window end")
		if n != 0 || !end.IsZero() {
			t.Fatalf("get at window end: (%d, %v), want (0, zero)", n, end)
		}
		n, end, err = s.IncrementCounter(ctx, "k", 1, time.Minute, at(time.Minute))
		ok(t, err, "increment at window end")
		if n != 1 || !end.Equal(at(2*time.Minute)) {
			t.Fatalf("increment at window end: (%d, %v), want (1, %v)", n, end, at(2*time.Minute))
		}
		n, end, err = s.IncrementCounter(ctx, "k", 1, time.Minute, at(10*time.Minute))
		ok(t, err, "increment long after")
		if n != 1 || !end.Equal(at(11*time.Minute)) {
			t.Fatalf("increment long after: (%d, %v), want (1, %v)", n, end, at(11*time.Minute))
		}
	})

	t.Run("missing counter reads zero and reset clears it", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		n, end, err := s.GetCounter(ctx, "k", base)
		ok(t, err, "get missing")
		if n != 0 || !end.IsZero() {
			t.Fatalf("missing: (%d, %v)", n, end)
		}
		_, _, err = s.IncrementCounter(ctx, "k", 3, time.Hour, base)
		ok(t, err, "increment")
		ok(t, s.ResetCounter(ctx, "k"), "reset")
		n, end, err = s.GetCounter(ctx, "k", base)
		ok(t, err, "get after reset")
		if n != 0 || !end.IsZero() {
			t.Fatalf("after reset: (%d, %v)", n, end)
		}
		n, end, err = s.IncrementCounter(ctx, "k", 1, time.Hour, at(time.Minute))
		ok(t, err, "increment after reset")
		if n != 1 || !end.Equal(at(61*time.Minute)) {
			t.Fatalf("after reset: (%d, %v), want a new window", n, end)
		}
		ok(t, s.ResetCounter(ctx, "never"), "reset missing")
	})
}
