package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/internal/detach"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// ErrNoSession means the session does not exist, expired or belongs to a disabled user.
var ErrNoSession = errors.New("no valid session")

// Meta describes where a session starts.
type Meta struct {
	IP        string
	UserAgent string
	// NewUser is set when the login created the user.
	NewUser bool
	// Language is the browser's preferred language (claim language), if known.
	Language string
	// Passkey is the passkey used, if any.
	Passkey string
}

// LogoutNotifier is told of every session that ends, to notify the clients that took part
// in it (OpenID Connect Back-Channel Logout; package oauth).
type LogoutNotifier interface {
	NotifyLogout(s store.Session)
}

// Manager keeps the portal sessions. Every field but Logger and Logout is required.
type Manager struct {
	Store       store.Store
	Revocations *tokens.RevocationList
	Now         func() time.Time
	Logger      *slog.Logger
	// Idle and Lifetime bound a session: it ends after Idle without use, and after Lifetime
	// in any case.
	Idle, Lifetime time.Duration
	// Lifetimes, if set, replaces Idle and Lifetime with the ones in force now (runtime
	// settings): a session started or used after a change gets the new ones, and shorter
	// ones end existing sessions at their next request (ExpiresAt).
	Lifetimes func() (idle, lifetime time.Duration)
	// RevocationTTL is how long a revocation entry must live: as long as any access token
	// issued before it can be valid.
	RevocationTTL time.Duration
	// Logout, if set, is told of every session that ends.
	Logout LogoutNotifier
	// Audit records every session that ends (nil: not recorded).
	Audit audit.Recorder
}

func (m *Manager) lifetimes() (idle, lifetime time.Duration) {
	if m.Lifetimes != nil {
		return m.Lifetimes()
	}
	return m.Idle, m.Lifetime
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// Start creates a portal session for u authenticated with amr, durably, and returns the
// secret to put in the session cookie (the store holds only its hash).
func (m *Manager) Start(ctx context.Context, u store.User, amr []string, meta Meta) (string, store.Session, error) {
	now := m.Now()
	idle, lifetime := m.lifetimes()
	sec := secret.Token()
	ua := meta.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	s := store.Session{ID: secret.Hash(sec), UserID: u.ID, AuthTime: now, AMR: amr, ACR: login.ACR(amr),
		NewUser: meta.NewUser, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(idle),
		AbsoluteExpiresAt: now.Add(lifetime), UserAgent: ua, IP: meta.IP, Passkey: meta.Passkey}
	// The session and the user's last authentication are one store write.
	if _, err := m.Store.StartSession(ctx, s, func(u store.User) (store.User, error) {
		u.LastAuthAt = now
		if meta.Language != "" {
			u.Language = meta.Language
		}
		return u, nil
	}); err != nil {
		return "", store.Session{}, fmt.Errorf("create session: %w", err)
	}
	return sec, s, nil
}

// touchEvery limits how often a session's idle expiry is pushed back (one write per minute
// at most per session).
const touchEvery = time.Minute

// Get returns the live session for the cookie secret sec and its user, extending its idle
// lifetime. It returns ErrNoSession if there is none; any other error is a store failure
// and must fail closed.
func (m *Manager) Get(ctx context.Context, sec string) (store.Session, store.User, error) {
	if sec == "" || len(sec) > 128 {
		return store.Session{}, store.User{}, ErrNoSession
	}
	id := secret.Hash(sec)
	s, err := m.Store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	} else if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("read session: %w", err)
	}
	now := m.Now()
	if exp := m.ExpiresAt(s); !now.Before(exp) {
		if exp.Before(s.ExpiresAt()) {
			// Ended by lifetimes shortened since it was last used: recorded, so that it
			// stays ended if they grow again (best effort: the check above repeats).
			if _, err := m.Store.UpdateSession(ctx, id, func(s store.Session) (store.Session, error) {
				s.IdleExpiresAt = exp
				return s, nil
			}); err != nil && !errors.Is(err, store.ErrNotFound) {
				m.logger().Warn("record the end of a session", "error", err)
			}
		}
		return store.Session{}, store.User{}, ErrNoSession
	}
	if err := m.Revocations.Check(s.ID, "", "", 0); err != nil {
		if errors.Is(err, tokens.ErrRevoked) {
			return store.Session{}, store.User{}, ErrNoSession
		}
		return store.Session{}, store.User{}, err
	}
	u, err := m.Store.GetUser(ctx, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	} else if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("read user: %w", err)
	}
	if u.Disabled {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		s2, err := m.Store.UpdateSession(ctx, id, func(s store.Session) (store.Session, error) {
			s.LastSeenAt = now
			idle, lifetime := m.lifetimes()
			if abs := s.CreatedAt.Add(lifetime); lifetime > 0 && abs.Before(s.AbsoluteExpiresAt) {
				s.AbsoluteExpiresAt = abs // a shorter lifetime in force since the start
			}
			s.IdleExpiresAt = now.Add(idle)
			if s.IdleExpiresAt.After(s.AbsoluteExpiresAt) {
				s.IdleExpiresAt = s.AbsoluteExpiresAt
			}
			return s, nil
		})
		if err == nil {
			s = s2
		} else {
			m.logger().Warn("extend session", "error", err)
		}
	}
	return s, u, nil
}

// ExpiresAt returns when s ends: its recorded deadlines, brought forward by the lifetimes in
// force now (Lifetimes, the runtime settings). A shorter idle or absolute lifetime applies
// to existing sessions at their next request — idle counted from the last recorded use,
// absolute from the start; a longer one applies to sessions started after the change
// (and the idle one to sessions used after it, up to their absolute deadline).
func (m *Manager) ExpiresAt(s store.Session) time.Time {
	exp := s.ExpiresAt()
	if m == nil {
		return exp
	}
	idle, lifetime := m.lifetimes()
	if t := s.LastSeenAt.Add(idle); idle > 0 && t.Before(exp) {
		exp = t
	}
	if t := s.CreatedAt.Add(lifetime); lifetime > 0 && t.Before(exp) {
		exp = t
	}
	return exp
}

// End logs a session out: the record is deleted, every refresh-token family started in it
// is revoked, and access tokens carrying its sid stop being accepted. Offline grants
// (offline_access) are not indexed by their session (oauth.Server.issue) and survive; a
// password change, a disabled user, revocation and reuse detection still end them.
func (m *Manager) End(ctx context.Context, sessionID string) error {
	sess, err := m.Store.GetSession(ctx, sessionID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Revoke anyway (fail safe); only the back-channel notification is lost.
		m.logger().Warn("logout: read session", "error", err)
	}
	if err := m.Revoke(ctx, store.RevokeSession, sessionID); err != nil {
		return err
	}
	if _, err := m.Store.RevokeSessionFamilies(ctx, sessionID); err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	if err := m.Store.DeleteSession(ctx, sessionID); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if sess.ID != "" {
		m.notifyLogout(sess)
		m.audit(ctx, sess, "")
	}
	return nil
}

// audit records that s ended. The actor is the one ctx names (an administrator), else the
// session's user.
func (m *Manager) audit(ctx context.Context, s store.Session, reason string) {
	actor := audit.ActorFrom(ctx)
	if actor == "" {
		actor = s.UserID
	}
	audit.Or(m.Audit).Record(ctx, audit.Event{Type: audit.SessionEnded, Actor: actor, UserID: s.UserID,
		Reason: reason, Details: map[string]string{"session": s.ID}})
}

func (m *Manager) notifyLogout(s store.Session) {
	if m.Logout != nil {
		m.Logout.NotifyLogout(s)
	}
}

// EndBySecret logs out the session whose cookie secret is sec (a no-op for an unknown
// secret).
func (m *Manager) EndBySecret(ctx context.Context, sec string) error {
	if sec == "" || len(sec) > 128 {
		return nil
	}
	return m.End(ctx, secret.Hash(sec))
}

// RevokeUser ends every session of the user and revokes all of its refresh tokens and every
// access token issued until now.
func (m *Manager) RevokeUser(ctx context.Context, userID string) error {
	if err := m.Revoke(ctx, store.RevokeUser, userID); err != nil {
		return err
	}
	if _, err := m.Store.RevokeUserFamilies(ctx, userID); err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	sessions, err := m.Store.ListUserSessions(ctx, userID)
	if err != nil {
		m.logger().Warn("revoke user: list sessions", "error", err)
	}
	ids, err := m.Store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	for _, id := range ids {
		if err := m.Revoke(ctx, store.RevokeSession, id); err != nil {
			return err
		}
	}
	for _, s := range sessions {
		m.notifyLogout(s)
		m.audit(ctx, s, "every session of the user revoked")
	}
	return nil
}

// SignOutEverywhere ends every session of the user but keep and revokes every refresh-token
// family of the user, with the access tokens issued from them: offline refresh tokens
// outlive the session they were issued in. Unlike RevokeUser it leaves no user-wide
// revocation, so a session started right after is not caught by it.
func (m *Manager) SignOutEverywhere(ctx context.Context, userID, keep string) error {
	if err := m.endSessionsExcept(ctx, userID, keep); err != nil {
		return err
	}
	grants, err := m.Store.RevokeUserFamilies(ctx, userID)
	if err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	for _, g := range grants {
		if err := m.Revoke(ctx, store.RevokeGrant, g); err != nil {
			return err
		}
	}
	return nil
}

// endSessionsExcept ends every session of the user but keep, with the tokens issued in them
// (access tokens carry their session's sid).
func (m *Manager) endSessionsExcept(ctx context.Context, userID, keep string) error {
	sessions, err := m.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	for _, o := range sessions {
		if o.ID != keep {
			if err := m.End(ctx, o.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Revoke records a revocation of kind (store.RevokeSession, RevokeUser, RevokeGrant) for
// subject in the in-memory list at once and durably in the store, for RevocationTTL.
func (m *Manager) Revoke(ctx context.Context, kind, subject string) error {
	now := m.Now()
	r := store.Revocation{Kind: kind, Subject: subject, At: now, ExpiresAt: now.Add(m.RevocationTTL)}
	m.Revocations.Add(r)
	if err := m.Store.AddRevocation(ctx, r); err != nil {
		return fmt.Errorf("store revocation: %w", err)
	}
	return nil
}

// RevokeGrant revokes a refresh-token family and the access tokens issued in it. The writes
// run detached from the request: a client closing its connection must not leave a replayed
// grant half revoked.
func (m *Manager) RevokeGrant(ctx context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	ctx, cancel := detach.Context(ctx)
	defer cancel()
	if err := m.Revoke(ctx, store.RevokeGrant, grantID); err != nil {
		return err
	}
	if err := m.Store.RevokeFamily(ctx, grantID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke family: %w", err)
	}
	return nil
}
