package lockout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/detach"
	"github.com/gatehouse-dev/gatehouse/secret"
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

// Limiter counts failed attempts in the store's counters over a fixed Window, and the
// attempts being evaluated in memory. Use it through a pointer; do not copy it once used.
type Limiter struct {
	Store  store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// Window is how long a failure counts (and so how long a lock lasts at most).
	Window time.Duration
	// Shared is set when other processes use the same store (PostgreSQL behind several
	// instances): Attempt then reserves in the store (see attemptShared), so that a burst
	// spread over the instances is bounded by the limit, not by the limit times their number.
	Shared bool

	mu    sync.Mutex
	slots map[string]*slot // keys with an attempt being reserved, evaluated or released
	// pending are failures the store refused to record (a full disk, a read-only replica),
	// per key: until they are written, attempts on the key are refused (fail closed), and
	// each attempt tries to write them first. Past maxPending keys, overflow refuses every
	// attempt until a write succeeds.
	pending  map[string]int64
	overflow bool
}

// maxPending bounds the keys whose failures wait in memory for the store.
const maxPending = 100000

// ErrFailuresNotRecorded refuses an attempt while earlier failures of its keys could not be
// written: counting them is what bounds guesses, so the attempt fails closed.
var ErrFailuresNotRecorded = errors.New("earlier failed attempts could not be recorded")

// slot is the in-memory state of one key. refs is guarded by Limiter.mu; the rest by mu,
// which is held while the key's stored counter is read or written, so that a reading never
// misses a failure that is no longer in flight.
type slot struct {
	mu       sync.Mutex
	refs     int           // goroutines holding or waiting for the slot, and reservations
	inflight int           // attempts reserved and not yet released
	released chan struct{} // closed (and replaced) whenever an attempt is released
}

// Attempt reserves one credential attempt against the counters named keys (distinct) before
// the credential is checked, so that parallel guesses cannot exceed the limits (CR-03).
// limits[i] is the maximum of failures for keys[i]. release(false) makes the failure durable
// (it increments every counter in the store) before it returns; release(true) resets the
// first counter if it holds failures (the account's failures start over) and writes nothing
// else, so an honest attempt costs reads only.
//
// The reservation is held in memory: the store holds failures only, and an attempt is
// admitted while the stored failures plus the attempts in flight stay below every limit.
// When the stored failures alone reach a limit the attempt is refused with a *LockedError
// (even a right credential: the lock lasts until the window ends); when only the attempts
// in flight fill it, the attempt waits for one of them to be released, then looks again.
// So one process evaluates at most limit − failures attempts of a key at once. With Shared
// the reservation is made in the store instead (attemptShared), and the bound holds across
// processes.
//
// A request already canceled counts nothing, nor one canceled while it waits. The writes
// of release run detached from the request's cancellation: a client that closes its
// connection after a wrong guess must not leave the failure uncounted.
func (l *Limiter) Attempt(ctx context.Context, keys []string, limits []int) (release func(success bool), err error) {
	if l.Shared {
		return l.attemptShared(ctx, keys, limits)
	}
	return l.AttemptLocal(ctx, keys, limits)
}

// AttemptLocal is Attempt with the reservation always held in memory, Shared or not: an
// honest attempt costs no write, and across processes on one store sequential attempts are
// bounded by the limit, a parallel burst by the limit times the number of processes. For
// client authentication, whose secrets are random (256 bits) and not worth guessing: the
// limit there guards against a misbehaving client, and its honest grants must not wait on
// a write.
func (l *Limiter) AttemptLocal(ctx context.Context, keys []string, limits []int) (release func(success bool), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	order := lockOrder(keys)
	slots := l.acquire(keys)
	lock(slots, order)
	err = l.flushPending(ctx, keys)
	unlock(slots, order)
	if err != nil {
		l.drop(keys, slots)
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	for {
		now := l.Now()
		lock(slots, order)
		var wait chan struct{}
		for i, k := range keys {
			n, reset, err := l.Store.GetCounter(ctx, k, now)
			if err != nil {
				unlock(slots, order)
				l.drop(keys, slots)
				return nil, fmt.Errorf("count attempt: %w", err)
			}
			if n >= int64(limits[i]) {
				unlock(slots, order)
				l.drop(keys, slots)
				retry := reset.Sub(now)
				if retry <= 0 { // a limit of zero: locked with no failure stored
					retry = l.Window
				}
				return nil, &LockedError{RetryAfter: retry}
			}
			if wait == nil && n+int64(slots[i].inflight) >= int64(limits[i]) {
				wait = slots[i].released
			}
		}
		if wait == nil {
			for _, s := range slots {
				s.inflight++
			}
			unlock(slots, order)
			break
		}
		unlock(slots, order)
		select {
		case <-wait:
		case <-ctx.Done():
			l.drop(keys, slots)
			return nil, fmt.Errorf("count attempt: %w", ctx.Err())
		}
	}
	var once sync.Once
	return func(success bool) {
		once.Do(func() {
			wctx, cancel := detach.Context(ctx)
			defer cancel()
			lock(slots, order)
			if success {
				l.resetFailures(wctx, keys[0])
			} else {
				l.countFailure(wctx, keys)
			}
			for _, s := range slots {
				s.inflight--
				close(s.released)
				s.released = make(chan struct{})
			}
			unlock(slots, order)
			l.drop(keys, slots)
		})
	}, nil
}

// countFailure makes a failure durable on every key; a failure the store refuses is kept
// in pending, which refuses the key's attempts until it is written.
func (l *Limiter) countFailure(ctx context.Context, keys []string) {
	now := l.Now()
	for _, k := range keys {
		if _, _, err := l.Store.IncrementCounter(ctx, k, 1, l.Window, now); err != nil {
			l.logger().Error("count a failed attempt; the key's attempts are refused until it is recorded", "error", err)
			l.mu.Lock()
			if l.pending == nil {
				l.pending = map[string]int64{}
			}
			if _, ok := l.pending[k]; ok || len(l.pending) < maxPending {
				l.pending[k]++
			} else {
				l.overflow = true
			}
			l.mu.Unlock()
		}
	}
}

// flushPending writes the failures kept in memory for keys (their slots locked): an error
// means they are still not recorded and the attempt must be refused. Under overflow, one
// pending key is written as a probe of the store, and every attempt is refused until one
// write succeeds.
func (l *Limiter) flushPending(ctx context.Context, keys []string) error {
	l.mu.Lock()
	if len(l.pending) == 0 && !l.overflow {
		l.mu.Unlock()
		return nil
	}
	todo := map[string]int64{}
	for _, k := range keys {
		if n := l.pending[k]; n > 0 {
			todo[k] = n
		}
	}
	overflow := l.overflow
	if overflow && len(todo) == 0 {
		for k, n := range l.pending {
			todo[k] = n // a probe (its slot is not locked: the increment is atomic anyway)
			break
		}
	}
	l.mu.Unlock()
	now := l.Now()
	for k, n := range todo {
		if _, _, err := l.Store.IncrementCounter(ctx, k, n, l.Window, now); err != nil {
			return fmt.Errorf("%w: %w", ErrFailuresNotRecorded, err)
		}
		l.mu.Lock()
		if l.pending[k] -= n; l.pending[k] <= 0 {
			delete(l.pending, k)
		}
		l.overflow = false
		l.mu.Unlock()
	}
	if overflow && len(todo) == 0 {
		return ErrFailuresNotRecorded // nothing to probe with: refuse until pending drains
	}
	return nil
}

// resetFailures deletes the counter of key if it holds failures: a success with none
// writes nothing.
func (l *Limiter) resetFailures(ctx context.Context, key string) {
	n, _, err := l.Store.GetCounter(ctx, key, l.Now())
	if err == nil && n == 0 {
		return
	}
	if err := l.Store.ResetCounter(ctx, key); err != nil {
		l.logger().Warn("reset attempt counter", "error", err)
	}
}

// acquire returns the slots of keys, creating the missing ones, with a reference each.
func (l *Limiter) acquire(keys []string) []*slot {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slots == nil {
		l.slots = map[string]*slot{}
	}
	out := make([]*slot, len(keys))
	for i, k := range keys {
		s := l.slots[k]
		if s == nil {
			s = &slot{released: make(chan struct{})}
			l.slots[k] = s
		}
		s.refs++
		out[i] = s
	}
	return out
}

// drop gives back the references of acquire; a slot nobody refers to is forgotten, so the
// map holds only the keys of attempts under way.
func (l *Limiter) drop(keys []string, slots []*slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range keys {
		if slots[i].refs--; slots[i].refs == 0 {
			delete(l.slots, k)
		}
	}
}

// lockOrder is the order in which the slots of keys are locked: by key, so that two
// attempts sharing keys (an account's and a client IP's) cannot deadlock.
func lockOrder(keys []string) []int {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case keys[a] < keys[b]:
			return -1
		case keys[a] > keys[b]:
			return 1
		}
		return 0
	})
	return order
}

func lock(slots []*slot, order []int) {
	for _, i := range order {
		slots[i].mu.Lock()
	}
}

func unlock(slots []*slot, order []int) {
	for _, i := range order {
		slots[i].mu.Unlock()
	}
}

func (l *Limiter) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// AccountKey is the key of the failed password logins of an account, by its normalised
// email address (hashed: counter keys are not secret, addresses are personal data).
func AccountKey(email string) string { return "login:account:" + secret.Hash(email) }

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
