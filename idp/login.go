package idp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/store"
)

// LockedError means too many failed attempts: the caller must wait RetryAfter.
type LockedError = lockout.LockedError

// PasswordLogin checks an email and password (password.Method.Login).
func (p *Provider) PasswordLogin(ctx context.Context, email, pw, clientIP string) (store.User, error) {
	r, err := p.Password.Login(ctx, email, pw, clientIP)
	return r.User, err
}
