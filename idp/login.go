package idp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

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

// attempt reserves one credential attempt against the counters named keys before the
// credential is checked, so that parallel guesses cannot exceed the limits (CR-03): the
// counter is incremented first, and a success gives the attempt back. limits[i] is the
// maximum for keys[i].
//
// A request already canceled counts nothing. Once counting has begun, every counter write —
// the increments, their undoing over the limit, and release — runs detached from the
// request's cancellation: a client that closes its connection between the increment and
// the release must not leave a success counted as a failure, nor an undone increment
// standing.
func (p *Provider) attempt(ctx context.Context, keys []string, limits []int) (release func(success bool), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("count attempt: %w", err)
	}
	now := p.Now()
	wctx, cancel := detached(ctx)
	defer cancel()
	var taken []string
	undo := func() {
		for _, k := range taken {
			_, _, _ = p.Store.IncrementCounter(wctx, k, -1, p.LockoutWindow, now)
		}
	}
	for i, k := range keys {
		n, reset, err := p.Store.IncrementCounter(wctx, k, 1, p.LockoutWindow, now)
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
		rctx, cancel := detached(ctx)
		defer cancel()
		for i, k := range keys {
			if i == 0 {
				if err := p.Store.ResetCounter(rctx, k); err != nil { // the account's failures start over
					p.Logger.Warn("reset attempt counter", "error", err)
				}
				continue
			}
			if _, _, err := p.Store.IncrementCounter(rctx, k, -1, p.LockoutWindow, now); err != nil {
				p.Logger.Warn("give back an attempt", "error", err)
			}
		}
	}, nil
}

// ipKey is the rate-limit key of a client IP: the address for IPv4, its /64 network for IPv6
// (one host usually holds a whole /64, so per-address counting would be no limit at all).
func ipKey(ip string) string {
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

// PasswordLogin checks an email and password. The account's and the client IP's failed
// attempts are limited; an unknown email costs the same time as a wrong password and gets
// the same error. It returns ErrInvalidCredentials, *LockedError, ErrUserDisabled (only
// after a correct password), an *InputError, or an internal error.
func (p *Provider) PasswordLogin(ctx context.Context, email, pw, clientIP string) (store.User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	release, err := p.attempt(ctx,
		[]string{"login:account:" + secret.Hash(email), "login:ip:" + ipKey(clientIP)},
		[]int{p.AccountMaxFailures, p.IPMaxFailures})
	if err != nil {
		return store.User{}, err
	}
	ok := false
	defer func() { release(ok) }()

	var hash string
	u, err := p.Store.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		cred, err := p.Store.GetPassword(ctx, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, fmt.Errorf("read password: %w", err)
		}
		hash = cred.Hash
	case errors.Is(err, store.ErrNotFound):
	default:
		return store.User{}, fmt.Errorf("read user: %w", err)
	}
	match, rehash, err := p.Hasher.Verify(ctx, pw, hash)
	if err != nil {
		return store.User{}, fmt.Errorf("verify password: %w", err)
	}
	if !match {
		return store.User{}, ErrInvalidCredentials
	}
	ok = true
	if u.Disabled {
		return store.User{}, ErrUserDisabled
	}
	if rehash {
		if h, err := p.Hasher.Hash(ctx, pw); err == nil {
			if err := p.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: h, UpdatedAt: p.Now()}); err != nil {
				p.Logger.Warn("rehash password", "user", u.ID, "error", err)
			}
		}
	}
	return u, nil
}
