package lockout_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// writesFail is a store whose counter increments fail while failing is set (a full disk, a
// read-only replica after a failover): reads still work.
type writesFail struct {
	store.Store
	failing atomic.Bool
}

func (s *writesFail) IncrementCounter(ctx context.Context, key string, by int64, window time.Duration, now time.Time) (int64, time.Time, error) {
	if s.failing.Load() {
		return 0, time.Time{}, errors.New("write failed")
	}
	return s.Store.IncrementCounter(ctx, key, by, window, now)
}

// TestFailureWriteErrorFailsClosed: counting failures is what bounds guesses (CR-03), so a
// failure the store cannot record must not let guessing go on unbounded: the key's next
// attempts are refused until the store takes the write, and then the failure is counted.
func TestFailureWriteErrorFailsClosed(t *testing.T) {
	clk := idptest.NewClock()
	s := &writesFail{Store: memory.New()}
	l := newLimiter(s, clk)
	keys, limits := []string{"acct", "ip"}, []int{5, 50}
	s.failing.Store(true)
	admitted := 0
	for i := 0; i < 1000; i++ {
		release, err := l.Attempt(context.Background(), keys, limits)
		if err != nil {
			if !errors.Is(err, lockout.ErrFailuresNotRecorded) {
				t.Fatalf("attempt %d: %v, want ErrFailuresNotRecorded", i, err)
			}
			continue
		}
		admitted++
		release(false)
	}
	if admitted > 1 {
		t.Fatalf("%d wrong guesses admitted while failures could not be recorded", admitted)
	}
	// The store recovers: the kept failure is written, attempts go on, the count is right.
	s.failing.Store(false)
	for i := 0; i < 4; i++ {
		if !try(t, l, keys, limits, false) {
			t.Fatalf("attempt %d after recovery refused", i)
		}
	}
	if try(t, l, keys, limits, true) {
		t.Fatal("the failure kept in memory was not counted: a sixth attempt was admitted")
	}
}
