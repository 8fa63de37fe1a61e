package mfa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

const purposePending = "mfa:pending"

// Rules are the second-factor rules. Every field but Audit is required.
type Rules struct {
	Store    store.Store
	Passkeys *passkey.Method
	Sessions *sessions.Manager
	Now      func() time.Time
	// Audit records each second-factor challenge (nil: not recorded).
	Audit audit.Recorder
	// Required, if set, tells whether a login by the methods of amr must have a second
	// factor now (the runtime settings' login.mfa, settings.Effective.SecondFactorRequired).
	// It reads memory only: it runs on the protect handler's hot path.
	Required func(amr []string) bool
}

// StepUpRequired tells whether a session (or an access token) whose login proved amr lacks
// the second factor that the settings now require: it is single-factor and one of its
// methods is set to required. Such a session, even one started before the setting
// changed, is confirmed with a second factor (or one is set up) before a code is issued
// for it or a protected route accepts it: the settings "take effect on the next request"
// (issue 18).
func (r *Rules) StepUpRequired(amr []string) bool {
	if r == nil || r.Required == nil || login.ACR(amr) == login.ACRMultiFactor {
		return false
	}
	return r.Required(amr)
}

// NeedsSecondFactor tells whether a login of u by a factor that is not a passkey must be
// completed with a second factor: once a user has a passkey or an authenticator app, that
// factor alone no longer logs them in.
func (r *Rules) NeedsSecondFactor(ctx context.Context, u store.User) (bool, error) {
	f, err := r.Factors(ctx, u.ID)
	if err != nil {
		return false, err
	}
	return f.Passkeys || f.TOTP, nil
}

// Factors are the second factors a user has.
type Factors struct {
	Passkeys bool
	// TOTP: an authenticator app (login/totp).
	TOTP bool
	// RecoveryCodes is the number of unused recovery codes (login/recoverycode).
	RecoveryCodes int
}

// Factors returns the second factors of the user: what the second-factor page offers.
func (r *Rules) Factors(ctx context.Context, userID string) (Factors, error) {
	keys, err := r.Store.ListUserPasskeys(ctx, userID)
	if err != nil {
		return Factors{}, fmt.Errorf("list passkeys: %w", err)
	}
	sf, err := r.Store.GetSecondFactor(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Factors{}, fmt.Errorf("read second factors: %w", err)
	}
	return Factors{Passkeys: len(keys) > 0, TOTP: sf.TOTPSecret != "", RecoveryCodes: len(sf.RecoveryCodes)}, nil
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
	audit.Or(r.Audit).Record(ctx, audit.Event{Type: audit.MFAChallenged, Actor: u.ID, UserID: u.ID,
		Reason: "second factor required", Details: map[string]string{"amr": strings.Join(amr, " ")}})
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

// CompletePending consumes the pending login once its second factor succeeded (a passkey,
// an authenticator code or a recovery code).
func (r *Rules) CompletePending(ctx context.Context, sec string) (Pending, error) {
	rec, err := r.Store.ConsumeOneTimeCode(ctx, secret.Hash(sec))
	if err != nil || rec.Purpose != purposePending || !r.Now().Before(rec.ExpiresAt) {
		return Pending{}, passkey.ErrCeremonyExpired
	}
	return Pending{UserID: rec.Subject, AMR: strings.Fields(rec.Data["amr"])}, nil
}
