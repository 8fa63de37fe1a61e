package password

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
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
	// Audit records the login attempts (nil: not recorded).
	Audit   audit.Recorder
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
	res, who, err := m.login(ctx, email, pw, clientIP)
	login.Audit(ctx, m.Audit, "password", who, res, err, ErrInvalidCredentials, account.ErrUserDisabled)
	return login.Count(m.Metrics, "password", res, err, ErrInvalidCredentials)
}

// login is Login; it also returns the ID of the account the attempt was for when it has
// one (for the audit trail, also when the attempt failed).
func (m *Method) login(ctx context.Context, email, pw, clientIP string) (login.Result, string, error) {
	email, err := input.NormalizeEmail(email)
	if err != nil {
		return login.Result{}, "", err
	}
	release, err := m.Limiter.Attempt(ctx,
		[]string{lockout.AccountKey(email), "login:ip:" + lockout.IPKey(clientIP)},
		[]int{m.AccountMaxFailures, m.IPMaxFailures})
	if err != nil {
		who := ""
		var locked *lockout.LockedError
		if errors.As(err, &locked) {
			if u, err := m.Store.GetUserByEmail(ctx, email); err == nil {
				who = u.ID
			}
		}
		return login.Result{}, who, err
	}
	ok := false
	defer func() { release(ok) }()

	var hash string
	u, err := m.Store.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		cred, err := m.Store.GetPassword(ctx, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return login.Result{}, "", fmt.Errorf("read password: %w", err)
		}
		hash = cred.Hash
	case errors.Is(err, store.ErrNotFound):
	default:
		return login.Result{}, "", fmt.Errorf("read user: %w", err)
	}
	match, rehash, err := m.Hasher.Verify(ctx, pw, hash)
	if err != nil {
		return login.Result{}, u.ID, fmt.Errorf("verify password: %w", err)
	}
	if !match {
		return login.Result{}, u.ID, ErrInvalidCredentials
	}
	ok = true
	if u.Disabled {
		return login.Result{}, u.ID, account.ErrUserDisabled
	}
	if rehash {
		if h, err := m.Hasher.Hash(ctx, pw); err == nil {
			if err := m.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: h, UpdatedAt: m.Now()}); err != nil {
				m.logger().Warn("rehash password", "user", u.ID, "error", err)
			}
		}
	}
	return login.Result{User: u, AMR: []string{login.AMRPassword}}, u.ID, nil
}

func (m *Method) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}
