package idp

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// LockedError means too many failed attempts: the caller must wait RetryAfter.
type LockedError = lockout.LockedError

func (p *Provider) attempt(ctx context.Context, keys []string, limits []int) (release func(success bool), err error) {
	return p.Lockout.Attempt(ctx, keys, limits)
}

func ipKey(ip string) string { return lockout.IPKey(ip) }

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
