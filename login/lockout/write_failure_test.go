package lockout_test

import (
	"context"
	"errors"
	"fmt"
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

// TestFailureWriteErrorOverflow: past the bound on keys whose failures wait in memory, a
// spray of distinct keys during a write outage cannot open a gap: every attempt is refused
// (even on a key never seen), and the first write the store takes again lets attempts go on.
func TestFailureWriteErrorOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("100,001 attempts")
	}
	clk := idptest.NewClock()
	s := &writesFail{Store: memory.New()}
	l := newLimiter(s, clk)
	s.failing.Store(true)
	for i := 0; i <= 100000; i++ {
		release, err := l.Attempt(context.Background(), []string{fmt.Sprintf("spray-%d", i)}, []int{5})
		if err != nil {
			t.Fatalf("attempt %d on a fresh key: %v", i, err)
		}
		release(false)
	}
	if _, err := l.Attempt(context.Background(), []string{"never-seen"}, []int{5}); !errors.Is(err, lockout.ErrFailuresNotRecorded) {
		t.Fatalf("a new key while failures overflowed memory: %v, want ErrFailuresNotRecorded", err)
	}
	s.failing.Store(false)
	release, err := l.Attempt(context.Background(), []string{"never-seen"}, []int{5})
	if err != nil {
		t.Fatalf("after the store recovered: %v", err)
	}
	release(true)
	// The failures that were kept are written as their keys come back.
	if try(t, l, []string{"spray-7"}, []int{1}, true) {
		t.Fatal("spray-7's kept failure was not counted: admitted with a limit of 1")
	}
}
