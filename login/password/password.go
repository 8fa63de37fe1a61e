package password

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/metrics"
	pwhash "github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Name is the method's name (the Caddyfile's `login password`).
const Name = "password"

// ErrInvalidCredentials: the email or password is wrong (the same for an unknown address).
var ErrInvalidCredentials = errors.New("the email or password is incorrect")

// Method is login by password. Every field but Logger is required.
type Method struct {
	// Metrics counts the login attempts (nil: not counted).
	Metrics metrics.Recorder
	Store   store.Store
	Hasher  *pwhash.Hasher
	Limiter *lockout.Limiter
	// AccountMaxFailures and IPMaxFailures are the failed logins allowed per account and per
	// client IP within the limiter's window.
	AccountMaxFailures, IPMaxFailures int
	Now                               func() time.Time
	Logger                            *slog.Logger
}

// Login checks an email and password and returns the account (amr pwd). The account's and
// the client IP's failed attempts are limited; an unknown email costs the same time as a
// wrong password and gets the same error. It returns ErrInvalidCredentials,
// *lockout.LockedError, account.ErrUserDisabled (only after a correct password), an
// *input.Error, or an internal error.
func (m *Method) Login(ctx context.Context, email, pw, clientIP string) (login.Result, error) {
	res, err := m.login(ctx, email, pw, clientIP)
	return login.Count(m.Metrics, "password", res, err, ErrInvalidCredentials)
}

func (m *Method) login(ctx context.Context, email, pw, clientIP string) (login.Result, error) {
	email, err := input.NormalizeEmail(email)
	if err != nil {
		return login.Result{}, err
	}
	release, err := m.Limiter.Attempt(ctx,
		[]string{lockout.AccountKey(email), "login:ip:" + lockout.IPKey(clientIP)},
		[]int{m.AccountMaxFailures, m.IPMaxFailures})
	if err != nil {
		return login.Result{}, err
	}
	ok := false
	defer func() { release(ok) }()

	var hash string
	u, err := m.Store.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		cred, err := m.Store.GetPassword(ctx, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return login.Result{}, fmt.Errorf("read password: %w", err)
		}
		hash = cred.Hash
	case errors.Is(err, store.ErrNotFound):
	default:
		return login.Result{}, fmt.Errorf("read user: %w", err)
	}
	match, rehash, err := m.Hasher.Verify(ctx, pw, hash)
	if err != nil {
		return login.Result{}, fmt.Errorf("verify password: %w", err)
	}
	if !match {
		return login.Result{}, ErrInvalidCredentials
	}
	ok = true
	if u.Disabled {
		return login.Result{}, account.ErrUserDisabled
	}
	if rehash {
		if h, err := m.Hasher.Hash(ctx, pw); err == nil {
			if err := m.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: h, UpdatedAt: m.Now()}); err != nil {
				m.logger().Warn("rehash password", "user", u.ID, "error", err)
			}
		}
	}
	return login.Result{User: u, AMR: []string{login.AMRPassword}}, nil
}

func (m *Method) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}
