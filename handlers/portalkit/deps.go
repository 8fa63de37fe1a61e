package portalkit

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The identity core as every portal handler uses it: one small interface per piece,
// satisfied by the pieces idp.New builds (the comment names each). The handlers never see
// the store; each handler package declares the narrow interfaces of its own method.

// Sessions are the portal sessions (*sessions.Manager).
type Sessions interface {
	Start(ctx context.Context, u store.User, amr []string, meta sessions.Meta) (string, store.Session, error)
	Get(ctx context.Context, secret string) (store.Session, store.User, error)
	EndBySecret(ctx context.Context, secret string) error
	// Fresh tells whether the session's login is recent enough for a sensitive change.
	Fresh(s store.Session) bool
}

// SecondFactor decides whether a login needs a second factor and parks it meanwhile
// (*mfa.Rules).
type SecondFactor interface {
	NeedsSecondFactor(ctx context.Context, u store.User) (bool, error)
	StartPending(ctx context.Context, u store.User, amr []string) (string, error)
	// StepUpRequired tells whether a session whose login proved amr lacks a second factor
	// that the runtime settings now require after one of its methods.
	StepUpRequired(amr []string) bool
}

// Channels say which code methods are on and how long codes live (*otp.Codes).
type Channels interface {
	MethodEnabled(method string) bool
	CanEmail() bool
	CanSMS() bool
	CodeTTL() time.Duration
	LinkTTL() time.Duration
}

// PasskeysOn tells whether passkeys work on this server (*passkey.Method).
type PasskeysOn interface {
	Enabled() bool
}

// Providers lists the configured social-login providers (*social.Method).
type Providers interface {
	Configured() []*social.Provider
}
