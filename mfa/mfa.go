package mfa

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

const purposePending = "mfa:pending"

// Rules are the second-factor rules. Every field is required.
type Rules struct {
	Store    store.Store
	Passkeys *passkey.Method
	Sessions *sessions.Manager
	Now      func() time.Time
}

// NeedsSecondFactor tells whether a login of u by a factor that is not a passkey must be
// completed with a passkey: once a user has a passkey, that factor alone no longer logs
// them in.
func (r *Rules) NeedsSecondFactor(ctx context.Context, u store.User) (bool, error) {
	keys, err := r.Store.ListUserPasskeys(ctx, u.ID)
	if err != nil {
		return false, fmt.Errorf("list passkeys: %w", err)
	}
	return len(keys) > 0, nil
}

// CanAddPasskey tells whether the user of session s could add a passkey right now:
// passkeys are available on this server and the login is recent enough (CR-19). The
// authorization endpoint's second-factor page offers the "Add a passkey" button only then.
func (r *Rules) CanAddPasskey(s store.Session) bool {
	return r.Passkeys.Enabled() && r.Sessions.Fresh(s)
}

// Pending is a login waiting for its second factor: no session exists until it completes
// (CR-18).
type Pending struct {
	UserID string
	AMR    []string
}

// StartPending records a first factor (amr) of u and returns the secret for the browser's
// MFA cookie. It lives as long as a passkey ceremony.
func (r *Rules) StartPending(ctx context.Context, u store.User, amr []string) (string, error) {
	sec := secret.Token()
	now := r.Now()
	rec := store.OneTimeCode{ID: secret.Hash(sec), Purpose: purposePending, Subject: u.ID,
		Data: map[string]string{"amr": strings.Join(amr, " ")}, CreatedAt: now, ExpiresAt: now.Add(passkey.CeremonyTTL)}
	if err := r.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store pending login: %w", err)
	}
	return sec, nil
}

// PendingUser returns the user of a pending second-factor login (passkey.ErrCeremonyExpired
// if none).
func (r *Rules) PendingUser(ctx context.Context, sec string) (store.User, error) {
	if sec == "" || len(sec) > 128 {
		return store.User{}, passkey.ErrCeremonyExpired
	}
	rec, err := r.Store.GetOneTimeCode(ctx, secret.Hash(sec))
	if err != nil || rec.Purpose != purposePending || !r.Now().Before(rec.ExpiresAt) {
		return store.User{}, passkey.ErrCeremonyExpired
	}
	return r.Store.GetUser(ctx, rec.Subject)
}

// CompletePending consumes the pending login once its second factor succeeded.
func (r *Rules) CompletePending(ctx context.Context, sec string) (Pending, error) {
	rec, err := r.Store.ConsumeOneTimeCode(ctx, secret.Hash(sec))
	if err != nil || rec.Purpose != purposePending || !r.Now().Before(rec.ExpiresAt) {
		return Pending{}, passkey.ErrCeremonyExpired
	}
	return Pending{UserID: rec.Subject, AMR: strings.Fields(rec.Data["amr"])}, nil
}
