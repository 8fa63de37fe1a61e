package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// tokenRecord is the stored form of a refresh token; Rotated is the authoritative "used"
// flag (see codeRecord).
type tokenRecord struct {
	store.RefreshToken
	Rotated bool `json:"rotated,omitempty"`
}

// family is a refresh-token family: who it belongs to, when it ends, whether it was revoked.
type family struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
	// Scopes and CreatedAt come from the family's first token (ListUserGrants); families
	// written before they existed have neither.
	Scopes    []string  `json:"scopes,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// tokenExpiry is the TTL of a token of family f: the family's expiry (every token ends
// with its family, and keeping rotated tokens until then lets a replay be recognised), or
// the token's own ExpiresAt when the family has none. The token never outlives its family
// record, so its Revoked flag cannot be lost.
func tokenExpiry(t store.RefreshToken, f family) time.Time {
	if !f.ExpiresAt.IsZero() {
		return f.ExpiresAt
	}
	return t.ExpiresAt
}

// putFamily writes the family record and its session and user index entries.
func putFamily(txn *badger.Txn, f family) error {
	if f.SessionID != "" {
		if err := putRaw(txn, indexKey(pSessFamily, f.SessionID, f.ID), nil, f.ExpiresAt); err != nil {
			return err
		}
	}
	if f.UserID != "" {
		if err := putRaw(txn, indexKey(pUserFamily, f.UserID, f.ID), nil, f.ExpiresAt); err != nil {
			return err
		}
	}
	return put(txn, key(pFamily, f.ID), f, f.ExpiresAt)
}

// getFamily reads a family; a missing family (which cannot happen while one of its tokens
// exists, see tokenExpiry) reads as revoked, failing closed.
func getFamily(txn *badger.Txn, id string) (family, error) {
	var f family
	err := get(txn, key(pFamily, id), &f)
	if errors.Is(err, store.ErrNotFound) {
		return family{ID: id, Revoked: true}, nil
	}
	return f, err
}

// CreateRefreshToken implements store.RefreshTokens.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if t.ID == "" || t.FamilyID == "" {
		return errors.New("badger: create refresh token: empty id or family id")
	}
	tk := key(pToken, t.ID)
	t.Revoked = false
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, tk); err != nil || ok {
			return existsErr(ok, err, "id")
		}
		var f family
		err := get(txn, key(pFamily, t.FamilyID), &f)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f = family{
				ID:        t.FamilyID,
				ClientID:  t.ClientID,
				UserID:    t.UserID,
				SessionID: t.SessionID,
				ExpiresAt: t.FamilyExpiresAt,
				Scopes:    t.Scopes,
				CreatedAt: t.CreatedAt,
			}
			if err := putFamily(txn, f); err != nil {
				return err
			}
		case err != nil:
			return err
		case f.Revoked:
			return fmt.Errorf("family %q: %w", t.FamilyID, store.ErrRevoked)
		}
		return put(txn, tk, tokenRecord{RefreshToken: t, Rotated: !t.RotatedAt.IsZero()}, tokenExpiry(t, f))
	})
	if err != nil {
		return fmt.Errorf("badger: create refresh token %q: %w", t.ID, err)
	}
	return nil
}

// GetRefreshToken implements store.RefreshTokens.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	var rec tokenRecord
	err := s.view(ctx, func(txn *badger.Txn) error {
		if err := get(txn, key(pToken, id), &rec); err != nil {
			return err
		}
		f, err := getFamily(txn, rec.FamilyID)
		rec.Revoked = f.Revoked
		return err
	})
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("badger: get refresh token %q: %w", id, err)
	}
	return rec.RefreshToken, nil
}

// RotateRefreshToken implements store.RefreshTokens. An empty next.FamilyID is taken to
// mean the old token's family; a different one is refused.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	if next.ID == "" {
		return store.RefreshToken{}, fmt.Errorf("badger: rotate refresh token %q: empty successor id", oldID)
	}
	oldKey := key(pToken, oldID)
	newKey := key(pToken, next.ID)
	defer s.lockKey(oldKey)()
	next.Revoked = false
	var old store.RefreshToken
	err := s.update(ctx, func(txn *badger.Txn) error {
		var rec tokenRecord
		if err := get(txn, oldKey, &rec); err != nil {
			return err
		}
		f, err := getFamily(txn, rec.FamilyID)
		if err != nil {
			return err
		}
		rec.Revoked = f.Revoked
		old = rec.RefreshToken
		switch {
		case f.Revoked:
			return fmt.Errorf("family %q: %w", rec.FamilyID, store.ErrRevoked)
		case rec.Rotated:
			return store.ErrAlreadyUsed
		}
		if next.FamilyID == "" {
			next.FamilyID = rec.FamilyID
		}
		if next.FamilyID != rec.FamilyID {
			return fmt.Errorf("successor is in family %q, not %q", next.FamilyID, rec.FamilyID)
		}
		if ok, err := exists(txn, newKey); err != nil || ok {
			return existsErr(ok, err, "successor id")
		}
		rec.Rotated = true
		rec.RotatedAt = now
		if err := put(txn, oldKey, rec, tokenExpiry(rec.RefreshToken, f)); err != nil {
			return err
		}
		return put(txn, newKey, tokenRecord{RefreshToken: next, Rotated: !next.RotatedAt.IsZero()}, tokenExpiry(next, f))
	})
	switch {
	case errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrAlreadyUsed):
		return old, fmt.Errorf("badger: rotate refresh token %q: %w", oldID, err)
	case err != nil:
		return store.RefreshToken{}, fmt.Errorf("badger: rotate refresh token %q: %w", oldID, err)
	}
	return old, nil
}

// RevokeFamily implements store.RefreshTokens.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		_, err := revokeFamily(txn, familyID)
		return err
	})
	if err != nil {
		return fmt.Errorf("badger: revoke family %q: %w", familyID, err)
	}
	return nil
}

// revokeFamily marks the family revoked (keeping its TTL) and tells whether it existed.
func revokeFamily(txn *badger.Txn, familyID string) (bool, error) {
	var f family
	if err := get(txn, key(pFamily, familyID), &f); err != nil {
		return false, err
	}
	if f.Revoked {
		return true, nil
	}
	f.Revoked = true
	return true, put(txn, key(pFamily, familyID), f, f.ExpiresAt)
}

// RevokeSessionFamilies implements store.RefreshTokens. It returns the IDs of every
// family started in the session, including families revoked before.
func (s *Store) RevokeSessionFamilies(ctx context.Context, sessionID string) ([]string, error) {
	ids, err := s.revokeIndexed(ctx, indexPrefix(pSessFamily, sessionID))
	if err != nil {
		return ids, fmt.Errorf("badger: revoke families of session %q: %w", sessionID, err)
	}
	return ids, nil
}

// RevokeUserFamilies implements store.RefreshTokens. It returns the IDs of every family
// of the user, including families revoked before.
func (s *Store) RevokeUserFamilies(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.revokeIndexed(ctx, indexPrefix(pUserFamily, userID))
	if err != nil {
		return ids, fmt.Errorf("badger: revoke families of user %q: %w", userID, err)
	}
	return ids, nil
}

// revokeIndexed revokes the families listed under an index prefix, batchSize per
// transaction, and returns their IDs in order.
func (s *Store) revokeIndexed(ctx context.Context, prefix []byte) ([]string, error) {
	var out []string
	after := ""
	for {
		var ids, revoked []string
		err := s.update(ctx, func(txn *badger.Txn) error {
			ids, revoked = nil, nil
			err := scan(txn, prefix, after, func(suffix []byte, _ *badger.Item) (bool, error) {
				ids = append(ids, string(suffix))
				return len(ids) < batchSize, nil
			})
			if err != nil {
				return err
			}
			for _, id := range ids {
				found, err := revokeFamily(txn, id)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if found {
					revoked = append(revoked, id)
				}
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, revoked...)
		if len(ids) < batchSize {
			return out, nil
		}
		after = ids[len(ids)-1]
	}
}
