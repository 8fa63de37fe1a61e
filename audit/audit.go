// Package audit is Gatehouse's trail of security events and administrator writes: one Event
// type, written to a dedicated zap logger (gatehouse.audit, JSON through Caddy's log pipeline)
// and to the store with a retention.
//
// An event never carries a secret, a code, a token or a password: only identifiers (user ID,
// client ID, session ID, credential ID), the method and the reason.
package audit

import (
	"context"
	"time"
)

// Event types. Each is produced by exactly the action its name says.
const (
	LoginSucceeded  = "login.succeeded"
	LoginFailed     = "login.failed"
	LockedOut       = "login.locked_out"
	MFAChallenged   = "mfa.challenged"
	Recovered       = "account.recovered"
	PasswordChanged = "password.changed"
	PasskeyAdded    = "passkey.added"
	PasskeyRemoved  = "passkey.removed"
	TokenIssued     = "token.issued"
	TokenRefreshed  = "token.refreshed"
	TokenRevoked    = "token.revoked"
	RefreshReuse    = "token.reuse_detected"
	SessionEnded    = "session.ended"
	UserDisabled    = "user.disabled"
	UserEnabled     = "user.enabled"
	AdminWrite      = "admin.write"
	JourneyStep     = "journey.step"
)

// Event is one audit record.
type Event struct {
	// ID is set by the trail (time-ordered, unique).
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Type is one of the constants above.
	Type string `json:"type"`
	// Actor is who acted: a user ID, "client:<id>" for a machine caller, "" for an
	// anonymous one (a failed login).
	Actor string `json:"actor,omitempty"`
	// UserID is the user the event is about.
	UserID   string `json:"user_id,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// IP is the client's address as Caddy resolved it (trusted_proxies respected).
	IP string `json:"ip,omitempty"`
	// Method is the login method or grant (password, passkey, refresh_token ...).
	Method string `json:"method,omitempty"`
	// Reason says why an attempt failed or what an admin changed.
	Reason string `json:"reason,omitempty"`
	// Details are further non-secret identifiers (session, credential, resource, step).
	Details map[string]string `json:"details,omitempty"`
}

// Recorder records events. Every Gatehouse component that produces events holds one
// (Discard where none is configured). Record never fails the action it reports: a sink that
// cannot write logs the failure and counts it.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Discard is a Recorder that drops every event (tests, tools).
var Discard Recorder = discard{}

type discard struct{}

func (discard) Record(context.Context, Event) {}
