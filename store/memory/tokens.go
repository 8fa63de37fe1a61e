package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// tokenRecord is a stored refresh token. Rotated is the authoritative "used" flag (see
// codeRecord); the token's Revoked field is always false here and computed on read.
type tokenRecord struct {
	token   store.RefreshToken
	rotated bool
}

// family is a refresh-token family: who it belongs to, when it ends, whether it was revoked.
type family struct {
	userID    string
	sessionID string
	expiresAt time.Time
	revoked   bool
	// clientID, scopes and createdAt come from the family's first token (ListUserGrants).
	clientID  string
	scopes    []string
	createdAt time.Time
}

// familyOf returns the token's family; a missing family reads as revoked (fail closed).
// The caller holds the lock.
func (s *Store) familyOf(id string) family {
	f, ok := s.families[id]
	if !ok {
		return family{revoked: true}
	}
	return f
}

// tokenExpiry is when a token of family f may be purged: with its family (keeping rotated
// tokens until then lets a replay be recognised), or at its own ExpiresAt when the family
// has no expiry.
func tokenExpiry(t store.RefreshToken, f family) time.Time {
	if !f.expiresAt.IsZero() {
		return f.expiresAt
	}
	return t.ExpiresAt
}

// storeToken stores a copy of t as a new token. The caller holds the lock.
func (s *Store) storeToken(t store.RefreshToken) {
	t = cloneRefreshToken(t)
	t.Revoked = false
	s.tokens[t.ID] = tokenRecord{token: t, rotated: !t.RotatedAt.IsZero()}
}

// CreateRefreshToken implements store.RefreshTokens. A token of an unknown family starts
// it, with the token's UserID, SessionID and FamilyExpiresAt.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if t.ID == "" || t.FamilyID == "" {
		return errors.New("memory: create refresh token: empty id or family id")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create refresh token %q: %w", t.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.ID]; ok {
		return fmt.Errorf("memory: create refresh token %q: %w", t.ID, taken("id"))
	}
	f, ok := s.families[t.FamilyID]
	switch {
	case !ok:
		s.families[t.FamilyID] = family{userID: t.UserID, sessionID: t.SessionID, expiresAt: t.FamilyExpiresAt,
			clientID: t.ClientID, scopes: slices.Clone(t.Scopes), createdAt: t.CreatedAt}
	case f.revoked:
		return fmt.Errorf("memory: create refresh token %q: family %q: %w", t.ID, t.FamilyID, store.ErrRevoked)
	}
	s.storeToken(t)
	return nil
}

// GetRefreshToken implements store.RefreshTokens.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	if err := s.lock(ctx); err != nil {
		return store.RefreshToken{}, fmt.Errorf("memory: get refresh token %q: %w", id, err)
	}
	defer s.mu.Unlock()
	rec, ok := s.tokens[id]
	if !ok {
		return store.RefreshToken{}, fmt.Errorf("memory: get refresh token %q: %w", id, store.ErrNotFound)
	}
	t := cloneRefreshToken(rec.token)
	t.Revoked = s.familyOf(t.FamilyID).revoked
	return t, nil
}

// RotateRefreshToken implements store.RefreshTokens. An empty next.FamilyID is taken to
// mean the old token's family; a different one is refused.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	fail := func(err error) error { return fmt.Errorf("memory: rotate refresh token %q: %w", oldID, err) }
	if next.ID == "" {
		return store.RefreshToken{}, fail(errors.New("empty successor id"))
	}
	if err := s.lock(ctx); err != nil {
		return store.RefreshToken{}, fail(err)
	}
	defer s.mu.Unlock()
	rec, ok := s.tokens[oldID]
	if !ok {
		return store.RefreshToken{}, fail(store.ErrNotFound)
	}
	f := s.familyOf(rec.token.FamilyID)
	old := cloneRefreshToken(rec.token)
	old.Revoked = f.revoked
	switch {
	case f.revoked:
		return old, fail(fmt.Errorf("family %q: %w", old.FamilyID, store.ErrRevoked))
	case rec.rotated:
		return old, fail(store.ErrAlreadyUsed)
	}
	if next.FamilyID == "" {
		next.FamilyID = old.FamilyID
	}
	if next.FamilyID != old.FamilyID {
		return store.RefreshToken{}, fail(fmt.Errorf("successor is in family %q, not %q", next.FamilyID, old.FamilyID))
	}
	if _, ok := s.tokens[next.ID]; ok {
		return store.RefreshToken{}, fail(taken("successor id"))
	}
	rec.rotated = true
	rec.token.RotatedAt = now
	s.tokens[oldID] = rec
	s.storeToken(next)
	return old, nil
}

// RevokeFamily implements store.RefreshTokens.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: revoke family %q: %w", familyID, err)
	}
	defer s.mu.Unlock()
	f, ok := s.families[familyID]
	if !ok {
		return fmt.Errorf("memory: revoke family %q: %w", familyID, store.ErrNotFound)
	}
	f.revoked = true
	s.families[familyID] = f
	return nil
}

// RevokeSessionFamilies implements store.RefreshTokens, atomically. It returns the IDs of
// every family started in the session, including families revoked before, ordered.
func (s *Store) RevokeSessionFamilies(ctx context.Context, sessionID string) ([]string, error) {
	ids, err := s.revokeFamilies(ctx, func(f family) bool { return sessionID != "" && f.sessionID == sessionID })
	if err != nil {
		return nil, fmt.Errorf("memory: revoke families of session %q: %w", sessionID, err)
	}
	return ids, nil
}

// RevokeUserFamilies implements store.RefreshTokens, atomically. It returns the IDs of
// every family of the user, including families revoked before, ordered.
func (s *Store) RevokeUserFamilies(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.revokeFamilies(ctx, func(f family) bool { return userID != "" && f.userID == userID })
	if err != nil {
		return nil, fmt.Errorf("memory: revoke families of user %q: %w", userID, err)
	}
	return ids, nil
}

// revokeFamilies revokes the families that match and returns their IDs in order.
func (s *Store) revokeFamilies(ctx context.Context, match func(family) bool) ([]string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var ids []string
	for id, f := range s.families {
		if match(f) {
			f.revoked = true
			s.families[id] = f
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
