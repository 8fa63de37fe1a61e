package lockout

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/detach"
	"github.com/gatehouse-dev/gatehouse/store"
)

// LockedError means too many failed attempts: the caller must wait RetryAfter. It is returned
// for known and unknown accounts alike, so it reveals nothing about which exist.
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string {
	mins := int(e.RetryAfter.Round(time.Minute) / time.Minute)
	if mins < 1 {
		mins = 1
	}
	return fmt.Sprintf("too many failed attempts; try again in %d minute(s)", mins)
}

// Limiter counts failed attempts in the store's counters over a sliding Window.
type Limiter struct {
	Store  store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// Window is how long a failure counts (and so how long a lock lasts at most).
	Window time.Duration
}

// Attempt reserves one credential attempt against the counters named keys before the
// credential is checked, so that parallel guesses cannot exceed the limits (CR-03): the
// counter is incremented first, and a success gives the attempt back. limits[i] is the
// maximum for keys[i]. release(true) resets the first counter (the account's failures start
// over) and gives the attempt back to the others; release(false) keeps it counted.
//
// A request already canceled counts nothing. Once counting has begun, every counter write —
// the increments, their undoing over the limit, and release — runs detached from the
// request's cancellation: a client that closes its connection between the increment and
// the release must not leave a success counted as a failure, nor an undone increment
// standing.
func (l *Limiter) Attempt(ctx context.Context, keys []string, limits []int) (release func(success bool), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	now := l.Now()
	wctx, cancel := detach.Context(ctx)
	defer cancel()
	var taken []string
	undo := func() {
		for _, k := range taken {
			_, _, _ = l.Store.IncrementCounter(wctx, k, -1, l.Window, now)
		}
	}
	for i, k := range keys {
		n, reset, err := l.Store.IncrementCounter(wctx, k, 1, l.Window, now)
		if err != nil {
			undo()
			return nil, fmt.Errorf("count attempt: %w", err)
		}
		taken = append(taken, k)
		if n > int64(limits[i]) {
			// Over the limit: this attempt is not evaluated and not counted further.
			undo()
			return nil, &LockedError{RetryAfter: reset.Sub(now)}
		}
	}
	return func(success bool) {
		if !success {
			return
		}
		rctx, cancel := detach.Context(ctx)
		defer cancel()
		for i, k := range keys {
			if i == 0 {
				if err := l.Store.ResetCounter(rctx, k); err != nil { // the account's failures start over
					l.logger().Warn("reset attempt counter", "error", err)
				}
				continue
			}
			if _, _, err := l.Store.IncrementCounter(rctx, k, -1, l.Window, now); err != nil {
				l.logger().Warn("give back an attempt", "error", err)
			}
		}
	}, nil
}

func (l *Limiter) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// IPKey is the rate-limit key of a client IP: the address for IPv4, its /64 network for IPv6
// (one host usually holds a whole /64, so per-address counting would be no limit at all).
func IPKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, err := addr.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return addr.String()
}
