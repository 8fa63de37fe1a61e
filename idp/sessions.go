package idp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ErrNoSession means the session does not exist, expired or belongs to a disabled user.
var ErrNoSession = sessions.ErrNoSession

// ACR values.
const (
	// ACRSingleFactor is NIST AAL1: one authentication factor.
	ACRSingleFactor = login.ACRSingleFactor
)

// SessionMeta describes where a session starts.
type SessionMeta = sessions.Meta

// StartSession creates a portal session for u authenticated with amr.
func (p *Provider) StartSession(ctx context.Context, u store.User, amr []string, meta SessionMeta) (string, store.Session, error) {
	return p.Sessions.Start(ctx, u, amr, meta)
}

// Session returns the live session for the cookie secret sec and its user.
func (p *Provider) Session(ctx context.Context, sec string) (store.Session, store.User, error) {
	return p.Sessions.Get(ctx, sec)
}

func (p *Provider) revoke(ctx context.Context, kind, subject string) error {
	return p.Sessions.Revoke(ctx, kind, subject)
}

// EndSession logs a session out.
func (p *Provider) EndSession(ctx context.Context, sessionID string) error {
	return p.Sessions.End(ctx, sessionID)
}

// EndSessionBySecret logs out the session whose cookie secret is sec.
func (p *Provider) EndSessionBySecret(ctx context.Context, sec string) error {
	return p.Sessions.EndBySecret(ctx, sec)
}

// RevokeUser ends every session of the user and revokes all of its tokens.
func (p *Provider) RevokeUser(ctx context.Context, userID string) error {
	return p.Sessions.RevokeUser(ctx, userID)
}
