package lockout

import (
	"context"
	"fmt"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/detach"
)

// attemptShared is Attempt on a store shared by several processes (Limiter.Shared): the
// reservation is made in the store, where every process sees it, instead of in memory.
// Each key's counter is incremented, durably and atomically, before the credential is
// checked — the attempt counts as a failure from the start — and the attempt is admitted
// only if no counter passed its limit; a refused attempt takes its increments back. So
// across any number of processes at most limit attempts of a key are ever evaluated per
// window, a parallel burst spread over them included (CR-03, CR-09, issue 15), and a
// process that dies while checking a credential leaves it counted. release(false) has
// nothing left to write; release(true) resets the first counter and takes the attempt
// back from the others. The price: two writes per key for an honest attempt, which is
// why client authentication (AttemptLocal) keeps the in-memory reservation.
func (l *Limiter) attemptShared(ctx context.Context, keys []string, limits []int) (release func(success bool), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	now := l.Now()
	taken := 0
	undo := func() {
		wctx, cancel := detach.Context(ctx)
		defer cancel()
		for _, k := range keys[:taken] {
			l.uncount(wctx, k)
		}
	}
	for i, k := range keys {
		n, reset, err := l.Store.IncrementCounter(ctx, k, 1, l.Window, now)
		if err != nil {
			undo()
			return nil, fmt.Errorf("count attempt: %w", err)
		}
		taken++
		if n > int64(limits[i]) {
			undo()
			retry := reset.Sub(now)
			if retry <= 0 {
				retry = l.Window
			}
			return nil, &LockedError{RetryAfter: retry}
		}
	}
	var once sync.Once
	return func(success bool) {
		once.Do(func() {
			if !success {
				return // counted before the check
			}
			wctx, cancel := detach.Context(ctx)
			defer cancel()
			if err := l.Store.ResetCounter(wctx, keys[0]); err != nil {
				l.logger().Warn("reset attempt counter", "error", err)
			}
			for _, k := range keys[1:] {
				l.uncount(wctx, k)
			}
		})
	}, nil
}

// uncount takes one attempt back from key's counter (never below zero: a window that
// ended meanwhile restarted it).
func (l *Limiter) uncount(ctx context.Context, key string) {
	n, _, err := l.Store.IncrementCounter(ctx, key, -1, l.Window, l.Now())
	if err == nil && n < 0 {
		_, _, err = l.Store.IncrementCounter(ctx, key, -n, l.Window, l.Now())
	}
	if err != nil {
		l.logger().Warn("take back an attempt", "error", err)
	}
}
