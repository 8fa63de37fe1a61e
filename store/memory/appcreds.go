package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateAppCredential implements store.AppCredentials.
func (s *Store) CreateAppCredential(ctx context.Context, p store.AppCredential) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("memory: create app credential: empty id or user")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create app credential: %w", err)
	}
	defer s.mu.Unlock()
	if _, ok := s.appCreds[p.ID]; ok {
		return fmt.Errorf("memory: create app credential: %w", taken("id"))
	}
	put(s, s.appCreds, p.ID, cloneAppCredential(p))
	return nil
}

// GetAppCredential implements store.AppCredentials.
func (s *Store) GetAppCredential(ctx context.Context, id string) (store.AppCredential, error) {
	if err := s.lock(ctx); err != nil {
		return store.AppCredential{}, fmt.Errorf("memory: get app credential: %w", err)
	}
	defer s.mu.Unlock()
	it, ok := s.appCreds[id]
	if !ok {
		return store.AppCredential{}, fmt.Errorf("memory: get app credential: %w", store.ErrNotFound)
	}
	return cloneAppCredential(it.rec), nil
}

// ListUserAppCredentials implements store.AppCredentials.
func (s *Store) ListUserAppCredentials(ctx context.Context, userID string) ([]store.AppCredential, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list appCreds of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var out []store.AppCredential
	for _, it := range s.appCreds {
		if it.rec.UserID == userID {
			out = append(out, cloneAppCredential(it.rec))
		}
	}
	return sortedBy(out, func(p store.AppCredential) string { return p.ID }), nil
}

// UpdateAppCredential implements store.AppCredentials.
func (s *Store) UpdateAppCredential(ctx context.Context, id string, update func(store.AppCredential) (store.AppCredential, error)) (store.AppCredential, error) {
	return updateRecord(s, ctx, "app credential", id, s.appCreds, cloneAppCredential, update, func(old, p store.AppCredential) error {
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		put(s, s.appCreds, id, p)
		return nil
	})
}

// DeleteAppCredential implements store.AppCredentials. Deleting a missing app credential is not an error.
func (s *Store) DeleteAppCredential(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete app credential: %w", err)
	}
	defer s.mu.Unlock()
	delete(s.appCreds, id)
	return nil
}
