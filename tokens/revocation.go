package tokens

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// RevocationList is the in-memory copy of the store's revocation list. Reads are lock-free
// (an immutable snapshot behind an atomic pointer) so the protect hot path pays three map
// lookups; writes copy the snapshot, which is fine because revocations are rare and expire
// with the longest-lived access token.
//
// Revocations made by this instance apply immediately (Add); those of other instances
// sharing the store arrive with Sync, which the app runs every second. If Sync has not
// succeeded for StaleAfter (the store is unreachable), Check fails closed with
// ErrUnavailable, and so does CheckClaims for an access token issued after the last
// successful Sync; an access token issued before it was seen live by that Sync (its session,
// grant and user not revoked) and stays valid, against the last list seen, until its own
// expiry: the outage does not log out the users of protected routes, and revocations seen
// before it still apply.
type RevocationList struct {
	// StaleAfter is how long the list may go without a successful Sync (0: never stale).
	StaleAfter time.Duration
	// Now returns the current time.
	Now func() time.Time

	mu       sync.Mutex // serialises writers
	snap     atomic.Pointer[revSnapshot]
	lastSync atomic.Int64 // unix nanoseconds of the last successful Sync
	cursor   time.Time    // At of the newest entry seen, minus overlap
}

type revSnapshot struct {
	sessions map[string]time.Time // subject -> expires
	grants   map[string]time.Time
	tokens   map[string]time.Time
	creds    map[string]time.Time // app credential IDs
	users    map[string]userRevocation
}

type userRevocation struct {
	at      int64 // unix seconds; tokens with iat <= at are revoked
	expires time.Time
}

// NewRevocationList returns an empty list.
func NewRevocationList(now func() time.Time, staleAfter time.Duration) *RevocationList {
	l := &RevocationList{Now: now, StaleAfter: staleAfter}
	l.snap.Store(&revSnapshot{sessions: map[string]time.Time{}, grants: map[string]time.Time{},
		tokens: map[string]time.Time{}, creds: map[string]time.Time{}, users: map[string]userRevocation{}})
	l.lastSync.Store(now().UnixNano())
	return l
}

// Check returns ErrRevoked if a token with these claims is revoked, ErrUnavailable if the
// list is stale, nil otherwise.
func (l *RevocationList) Check(sid, gid, sub string, iat int64) error {
	if l.stale() {
		return ErrUnavailable
	}
	return l.check(sid, gid, sub, iat)
}

// stale reports whether Sync has not succeeded for StaleAfter.
func (l *RevocationList) stale() bool {
	return l.StaleAfter > 0 && l.Now().UnixNano()-l.lastSync.Load() > int64(l.StaleAfter)
}

func (l *RevocationList) check(sid, gid, sub string, iat int64) error {
	s := l.snap.Load()
	if sid != "" {
		if _, ok := s.sessions[sid]; ok {
			return ErrRevoked
		}
	}
	if gid != "" {
		if _, ok := s.grants[gid]; ok {
			return ErrRevoked
		}
	}
	if u, ok := s.users[sub]; ok && iat <= u.at {
		return ErrRevoked
	}
	return nil
}

// CheckClaims is Check for an access token, including the revocation of the token itself
// (RFC 7009 revocation of one access token). While the list is stale it checks a token
// issued before the last successful Sync against the list as it was then, and fails the
// others closed with ErrUnavailable (see RevocationList).
func (l *RevocationList) CheckClaims(c *AccessClaims) error {
	// Issued in an earlier second than the last Sync (iat has a resolution of one second:
	// a token of the Sync's own second may be younger than it).
	if l.stale() && c.IssuedAt >= l.lastSync.Load()/int64(time.Second) {
		return ErrUnavailable
	}
	if err := l.check(c.SessionID, c.GrantID, c.Subject, c.IssuedAt); err != nil {
		return err
	}
	if c.ID != "" {
		if _, ok := l.snap.Load().tokens[c.ID]; ok {
			return ErrRevoked
		}
	}
	return nil
}

// CheckCredential is Check for an app password or personal access token with this ID
// (store.AppCredential.ID) of user sub, verified against the store at the Unix time
// verifiedAt: ErrUnavailable if the list is stale, ErrRevoked if the credential was
// revoked, and ErrUserChanged if the user was revoked (disabled, logged out everywhere) at
// or after verifiedAt, so that the caller reads the user again.
func (l *RevocationList) CheckCredential(id, sub string, verifiedAt int64) error {
	if l.StaleAfter > 0 && l.Now().UnixNano()-l.lastSync.Load() > int64(l.StaleAfter) {
		return ErrUnavailable
	}
	s := l.snap.Load()
	if _, ok := s.creds[id]; ok {
		return ErrRevoked
	}
	if u, ok := s.users[sub]; ok && verifiedAt <= u.at {
		return ErrUserChanged
	}
	return nil
}

// Add applies entries to the list at once.
func (l *RevocationList) Add(entries ...store.Revocation) {
	if len(entries) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	old := l.snap.Load()
	next := &revSnapshot{
		sessions: make(map[string]time.Time, len(old.sessions)+len(entries)),
		grants:   make(map[string]time.Time, len(old.grants)),
		tokens:   make(map[string]time.Time, len(old.tokens)),
		creds:    make(map[string]time.Time, len(old.creds)),
		users:    make(map[string]userRevocation, len(old.users)),
	}
	for k, exp := range old.sessions {
		if exp.After(now) {
			next.sessions[k] = exp
		}
	}
	for k, exp := range old.grants {
		if exp.After(now) {
			next.grants[k] = exp
		}
	}
	for k, exp := range old.tokens {
		if exp.After(now) {
			next.tokens[k] = exp
		}
	}
	for k, exp := range old.creds {
		if exp.After(now) {
			next.creds[k] = exp
		}
	}
	for k, u := range old.users {
		if u.expires.After(now) {
			next.users[k] = u
		}
	}
	for _, e := range entries {
		if !e.ExpiresAt.After(now) {
			continue
		}
		switch e.Kind {
		case store.RevokeSession:
			if e.ExpiresAt.After(next.sessions[e.Subject]) {
				next.sessions[e.Subject] = e.ExpiresAt
			}
		case store.RevokeGrant:
			if e.ExpiresAt.After(next.grants[e.Subject]) {
				next.grants[e.Subject] = e.ExpiresAt
			}
		case store.RevokeToken:
			if e.ExpiresAt.After(next.tokens[e.Subject]) {
				next.tokens[e.Subject] = e.ExpiresAt
			}
		case store.RevokeCredential:
			if e.ExpiresAt.After(next.creds[e.Subject]) {
				next.creds[e.Subject] = e.ExpiresAt
			}
		case store.RevokeUser:
			u := next.users[e.Subject]
			if at := e.At.Unix(); at > u.at {
				u.at = at
			}
			if e.ExpiresAt.After(u.expires) {
				u.expires = e.ExpiresAt
			}
			next.users[e.Subject] = u
		}
	}
	l.snap.Store(next)
}

// syncOverlap re-reads entries up to this much older than the previous Sync, so that entries
// written by instances whose clock lags by less than this are not missed.
const syncOverlap = 30 * time.Second

// Sync reads the entries added to the store since the last Sync (all unexpired entries the
// first time) and applies them.
func (l *RevocationList) Sync(ctx context.Context, s store.Revocations) error {
	now := l.Now()
	l.mu.Lock()
	since := l.cursor
	l.mu.Unlock()
	entries, err := s.ListRevocations(ctx, since, now)
	if err != nil {
		return fmt.Errorf("sync revocation list: %w", err)
	}
	l.Add(entries...)
	l.mu.Lock()
	if c := now.Add(-syncOverlap); c.After(l.cursor) {
		l.cursor = c
	}
	l.mu.Unlock()
	l.lastSync.Store(now.UnixNano())
	return nil
}

// Len returns the number of entries (for metrics and tests).
func (l *RevocationList) Len() int {
	s := l.snap.Load()
	return len(s.sessions) + len(s.grants) + len(s.tokens) + len(s.creds) + len(s.users)
}
