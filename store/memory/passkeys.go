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

// UpdatePasskeyConsuming implements store.Passkeys: the code's check, update and both
// writes happen under one lock (update must not call the store), so that update never
// runs once a concurrent call has consumed the code.
func (s *Store) UpdatePasskeyConsuming(ctx context.Context, codeID, id string, update func(store.Passkey) (store.Passkey, error)) (store.OneTimeCode, store.Passkey, error) {
	fail := func(err error) (store.OneTimeCode, store.Passkey, error) {
		return store.OneTimeCode{}, store.Passkey{}, fmt.Errorf("memory: update passkey %q: %w", id, err)
	}
	if err := s.lock(ctx); err != nil {
		return fail(err)
	}
	defer s.mu.Unlock()
	c, ok := s.oneTime[codeID]
	if !ok {
		return fail(fmt.Errorf("one-time code %q: %w", codeID, store.ErrNotFound))
	}
	old, ok := s.passkeys[id]
	if !ok {
		return fail(store.ErrNotFound)
	}
	p, err := update(clonePasskey(old.rec))
	if err != nil {
		return store.OneTimeCode{}, store.Passkey{}, err
	}
	if p.ID != id || p.UserID != old.rec.UserID {
		return fail(errIDChanged)
	}
	delete(s.oneTime, codeID)
	put(s, s.passkeys, id, clonePasskey(p))
	return c.rec, clonePasskey(p), nil
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
