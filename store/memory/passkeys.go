package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreatePasskey implements store.Passkeys.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("memory: create passkey: empty id or user")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create passkey: %w", err)
	}
	defer s.mu.Unlock()
	if _, ok := s.passkeys[p.ID]; ok {
		return fmt.Errorf("memory: create passkey: %w", taken("credential id"))
	}
	put(s, s.passkeys, p.ID, clonePasskey(p))
	return nil
}

// GetPasskey implements store.Passkeys.
func (s *Store) GetPasskey(ctx context.Context, id string) (store.Passkey, error) {
	if err := s.lock(ctx); err != nil {
		return store.Passkey{}, fmt.Errorf("memory: get passkey: %w", err)
	}
	defer s.mu.Unlock()
	it, ok := s.passkeys[id]
	if !ok {
		return store.Passkey{}, fmt.Errorf("memory: get passkey: %w", store.ErrNotFound)
	}
	return clonePasskey(it.rec), nil
}

// ListUserPasskeys implements store.Passkeys.
func (s *Store) ListUserPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list passkeys of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var out []store.Passkey
	for _, it := range s.passkeys {
		if it.rec.UserID == userID {
			out = append(out, clonePasskey(it.rec))
		}
	}
	return sortedBy(out, func(p store.Passkey) string { return p.ID }), nil
}

// UpdatePasskey implements store.Passkeys.
func (s *Store) UpdatePasskey(ctx context.Context, id string, update func(store.Passkey) (store.Passkey, error)) (store.Passkey, error) {
	return updateRecord(s, ctx, "passkey", id, s.passkeys, clonePasskey, update, func(old, p store.Passkey) error {
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		put(s, s.passkeys, id, p)
		return nil
	})
}

// UpdatePasskeyConsuming implements store.Passkeys: the code is deleted and the passkey
// written under one lock.
func (s *Store) UpdatePasskeyConsuming(ctx context.Context, codeID, id string, update func(store.Passkey) (store.Passkey, error)) (store.OneTimeCode, store.Passkey, error) {
	// update runs only while the code exists (checked first, then again under the lock).
	if err := s.lock(ctx); err != nil {
		return store.OneTimeCode{}, store.Passkey{}, fmt.Errorf("memory: update passkey %q: %w", id, err)
	}
	_, ok := s.oneTime[codeID]
	s.mu.Unlock()
	if !ok {
		return store.OneTimeCode{}, store.Passkey{}, fmt.Errorf("memory: update passkey %q: one-time code %q: %w", id, codeID, store.ErrNotFound)
	}
	var code store.OneTimeCode
	pk, err := updateRecord(s, ctx, "passkey", id, s.passkeys, clonePasskey, update, func(old, p store.Passkey) error {
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		it, ok := s.oneTime[codeID]
		if !ok {
			return fmt.Errorf("one-time code %q: %w", codeID, store.ErrNotFound)
		}
		delete(s.oneTime, codeID)
		code = it.rec
		put(s, s.passkeys, id, p)
		return nil
	})
	if err != nil {
		return store.OneTimeCode{}, store.Passkey{}, err
	}
	return code, pk, nil
}

// DeletePasskey implements store.Passkeys. Deleting a missing passkey is not an error.
func (s *Store) DeletePasskey(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete passkey: %w", err)
	}
	defer s.mu.Unlock()
	delete(s.passkeys, id)
	return nil
}
