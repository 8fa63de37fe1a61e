package idp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// ErrNoSession means the session does not exist, expired or belongs to a disabled user.
var ErrNoSession = errors.New("no valid session")

// ACR values.
const (
	// ACRSingleFactor is NIST AAL1: one authentication factor.
	ACRSingleFactor = "aal1"
)

// SessionMeta describes where a session starts.
type SessionMeta struct {
	IP        string
	UserAgent string
	// NewUser is set when the login created the user.
	NewUser bool
	// Language is the browser's preferred language (claim language), if known.
	Language string
	// Passkey is the passkey used, if any.
	Passkey string
}

// StartSession creates a portal session for u authenticated with amr, durably, and returns
// the secret to put in the session cookie (the store holds only its hash).
func (p *Provider) StartSession(ctx context.Context, u store.User, amr []string, meta SessionMeta) (string, store.Session, error) {
	now := p.Now()
	sec := secret.Token()
	ua := meta.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	acr := ACRSingleFactor
	if hasString(amr, AMRWebAuthn) || hasString(amr, AMRMFA) {
		// A user-verifying passkey, or a second factor: NIST AAL2.
		acr = ACRMultiFactor
	}
	s := store.Session{ID: secret.Hash(sec), UserID: u.ID, AuthTime: now, AMR: amr, ACR: acr,
		NewUser: meta.NewUser, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(p.SessionIdle),
		AbsoluteExpiresAt: now.Add(p.SessionLifetime), UserAgent: ua, IP: meta.IP, Passkey: meta.Passkey}
	if err := p.Store.CreateSession(ctx, s); err != nil {
		return "", store.Session{}, fmt.Errorf("create session: %w", err)
	}
	if _, err := p.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
		u.LastAuthAt = now
		if meta.Language != "" {
			u.Language = meta.Language
		}
		return u, nil
	}); err != nil {
		p.Logger.Warn("record last authentication", "user", u.ID, "error", err)
	}
	return sec, s, nil
}

// touchEvery limits how often a session's idle expiry is pushed back (one write per minute
// at most per session).
const touchEvery = time.Minute

// Session returns the live session for the cookie secret sec and its user, extending its idle
// lifetime. It returns ErrNoSession if there is none; any other error is a store failure
// and must fail closed.
func (p *Provider) Session(ctx context.Context, sec string) (store.Session, store.User, error) {
	if sec == "" || len(sec) > 128 {
		return store.Session{}, store.User{}, ErrNoSession
	}
	id := secret.Hash(sec)
	s, err := p.Store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	} else if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("read session: %w", err)
	}
	now := p.Now()
	if !now.Before(s.ExpiresAt()) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if err := p.Revocations.Check(s.ID, "", "", 0); err != nil {
		if errors.Is(err, tokens.ErrRevoked) {
			return store.Session{}, store.User{}, ErrNoSession
		}
		return store.Session{}, store.User{}, err
	}
	u, err := p.Store.GetUser(ctx, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	} else if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("read user: %w", err)
	}
	if u.Disabled {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		s2, err := p.Store.UpdateSession(ctx, id, func(s store.Session) (store.Session, error) {
			s.LastSeenAt = now
			s.IdleExpiresAt = now.Add(p.SessionIdle)
			if s.IdleExpiresAt.After(s.AbsoluteExpiresAt) {
				s.IdleExpiresAt = s.AbsoluteExpiresAt
			}
			return s, nil
		})
		if err == nil {
			s = s2
		} else {
			p.Logger.Warn("extend session", "error", err)
		}
	}
	return s, u, nil
}

// revocationTTL is how long a revocation entry must live: as long as any access token
// issued before it can be valid.
func (p *Provider) revocationTTL() time.Duration {
	longest := max(p.AccessTokenLifetime, p.Verifier.MaxLifetime, p.CodeLifetime)
	return longest + 2*p.Leeway
}

func (p *Provider) revoke(ctx context.Context, kind, subject string) error {
	now := p.Now()
	r := store.Revocation{Kind: kind, Subject: subject, At: now, ExpiresAt: now.Add(p.revocationTTL())}
	p.Revocations.Add(r)
	if err := p.Store.AddRevocation(ctx, r); err != nil {
		return fmt.Errorf("store revocation: %w", err)
	}
	return nil
}

// EndSession logs a session out: the record is deleted, every refresh-token family started in
// it is revoked, and access tokens carrying its sid stop being accepted.
func (p *Provider) EndSession(ctx context.Context, sessionID string) error {
	sess, err := p.Store.GetSession(ctx, sessionID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Revoke anyway (fail safe); only the back-channel notification is lost.
		p.Logger.Warn("logout: read session", "error", err)
	}
	if err := p.revoke(ctx, store.RevokeSession, sessionID); err != nil {
		return err
	}
	if _, err := p.Store.RevokeSessionFamilies(ctx, sessionID); err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	if err := p.Store.DeleteSession(ctx, sessionID); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if sess.ID != "" {
		p.notifyLogout(sess)
	}
	return nil
}

// EndSessionBySecret logs out the session whose cookie secret is sec (a no-op for an unknown
// secret).
func (p *Provider) EndSessionBySecret(ctx context.Context, sec string) error {
	if sec == "" || len(sec) > 128 {
		return nil
	}
	return p.EndSession(ctx, secret.Hash(sec))
}

// RevokeUser ends every session of the user and revokes all of its refresh tokens and every
// access token issued until now.
func (p *Provider) RevokeUser(ctx context.Context, userID string) error {
	if err := p.revoke(ctx, store.RevokeUser, userID); err != nil {
		return err
	}
	if _, err := p.Store.RevokeUserFamilies(ctx, userID); err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	sessions, err := p.Store.ListUserSessions(ctx, userID)
	if err != nil {
		p.Logger.Warn("revoke user: list sessions", "error", err)
	}
	ids, err := p.Store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	for _, id := range ids {
		if err := p.revoke(ctx, store.RevokeSession, id); err != nil {
			return err
		}
	}
	for _, s := range sessions {
		p.notifyLogout(s)
	}
	return nil
}
