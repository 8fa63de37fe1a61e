package idp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Passkey errors shown to users.
var (
	ErrPasskeyFailed       = passkey.ErrPasskeyFailed
	ErrPasskeyMalformed    = passkey.ErrPasskeyMalformed
	ErrCeremonyExpired     = passkey.ErrCeremonyExpired
	ErrReauthenticate      = sessions.ErrReauthenticate
	ErrLastCredential      = passkey.ErrLastCredential
	ErrNoPasskey           = passkey.ErrNoPasskey
	ErrClonedAuthenticator = passkey.ErrClonedAuthenticator
	ErrPasskeysDisabled    = passkey.ErrPasskeysDisabled
)

// Authentication method references and context classes (claims amr and acr).
const (
	AMRPassword = login.AMRPassword
	AMRWebAuthn = login.AMRWebAuthn
	AMRMFA      = login.AMRMFA
	// ACRMultiFactor is NIST AAL2: two factors, or a user-verifying passkey.
	ACRMultiFactor = login.ACRMultiFactor
)

// PasskeyConfig configures WebAuthn (passkey.Config).
type PasskeyConfig = passkey.Config

// Ceremony is a started WebAuthn ceremony (passkey.Ceremony).
type Ceremony = passkey.Ceremony

// PasskeysEnabled reports whether the server can run WebAuthn ceremonies.
func (p *Provider) PasskeysEnabled() bool { return p.Passkey.Enabled() }

func (p *Provider) fresh(s store.Session) bool { return p.Sessions.Fresh(s) }

// BeginPasskeySignup starts creating an account whose only credential is a passkey.
func (p *Provider) BeginPasskeySignup(ctx context.Context, in NewUser, invite, clientIP string) (*Ceremony, error) {
	return p.Passkey.BeginSignup(ctx, in, invite, clientIP)
}

// FinishPasskeySignup verifies the new credential and creates the user with it at once.
func (p *Provider) FinishPasskeySignup(ctx context.Context, sec string, response []byte, name string) (store.User, store.Passkey, error) {
	r, err := p.Passkey.FinishSignup(ctx, sec, response, name)
	return r.User, store.Passkey{ID: r.Passkey}, err
}

// BeginPasskeyRegistration starts adding a passkey to the session's user.
func (p *Provider) BeginPasskeyRegistration(ctx context.Context, s store.Session) (*Ceremony, error) {
	return p.Passkey.BeginRegistration(ctx, s)
}

// FinishPasskeyRegistration verifies and stores the new passkey of the session's user.
func (p *Provider) FinishPasskeyRegistration(ctx context.Context, s store.Session, sec, name string, response []byte) (store.Passkey, error) {
	return p.Passkey.FinishRegistration(ctx, s, sec, name, response)
}

// BeginPasskeyLogin starts a passkey login.
func (p *Provider) BeginPasskeyLogin(ctx context.Context, email string) (*Ceremony, error) {
	return p.Passkey.BeginLogin(ctx, email)
}

// FinishPasskeyLogin verifies an assertion and returns its user and passkey.
func (p *Provider) FinishPasskeyLogin(ctx context.Context, sec string, response []byte) (store.User, store.Passkey, error) {
	r, err := p.Passkey.FinishLogin(ctx, sec, response)
	return r.User, store.Passkey{ID: r.Passkey}, err
}

// NeedsSecondFactor tells whether a password login of u must be completed with a passkey.
func (p *Provider) NeedsSecondFactor(ctx context.Context, u store.User) (bool, error) {
	return p.MFA.NeedsSecondFactor(ctx, u)
}

// PendingMFA is a login waiting for its second factor (mfa.Pending).
type PendingMFA = mfa.Pending

// StartPendingMFA records a first factor and returns the secret for the browser's MFA cookie.
func (p *Provider) StartPendingMFA(ctx context.Context, u store.User, amr []string) (string, error) {
	return p.MFA.StartPending(ctx, u, amr)
}

// PendingMFAUser returns the user of a pending second-factor login.
func (p *Provider) PendingMFAUser(ctx context.Context, sec string) (store.User, error) {
	return p.MFA.PendingUser(ctx, sec)
}

// BeginSecondFactor starts a passkey assertion for u.
func (p *Provider) BeginSecondFactor(ctx context.Context, u store.User, bind string) (*Ceremony, error) {
	return p.Passkey.BeginSecondFactor(ctx, u, bind)
}

// FinishSecondFactor verifies the assertion of a second-factor ceremony.
func (p *Provider) FinishSecondFactor(ctx context.Context, u store.User, bind, sec string, response []byte) (store.Passkey, error) {
	return p.Passkey.FinishSecondFactor(ctx, u, bind, sec, response)
}

// CompletePendingMFA consumes the pending login once its second factor succeeded.
func (p *Provider) CompletePendingMFA(ctx context.Context, sec string) (PendingMFA, error) {
	return p.MFA.CompletePending(ctx, sec)
}

// Passkeys lists a user's passkeys.
func (p *Provider) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	return p.Passkey.List(ctx, userID)
}

// RenamePasskey renames one of the user's passkeys.
func (p *Provider) RenamePasskey(ctx context.Context, userID, id, name string) (store.Passkey, error) {
	return p.Passkey.Rename(ctx, userID, id, name)
}

// DeletePasskey removes one of the session user's passkeys.
func (p *Provider) DeletePasskey(ctx context.Context, s store.Session, id string) error {
	return p.Passkey.Delete(ctx, s, id)
}
