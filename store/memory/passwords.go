package memory

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// SetPassword implements store.Passwords.
func (s *Store) SetPassword(ctx context.Context, c store.PasswordCredential) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: set password of user %q: %w", c.UserID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.users[c.UserID]; !ok {
		return fmt.Errorf("memory: set password of user %q: user: %w", c.UserID, store.ErrNotFound)
	}
	s.passwords[c.UserID] = c
	return nil
}

// GetPassword implements store.Passwords.
func (s *Store) GetPassword(ctx context.Context, userID string) (store.PasswordCredential, error) {
	if err := s.lock(ctx); err != nil {
		return store.PasswordCredential{}, fmt.Errorf("memory: get password of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	c, ok := s.passwords[userID]
	if !ok {
		return store.PasswordCredential{}, fmt.Errorf("memory: get password of user %q: %w", userID, store.ErrNotFound)
	}
	return c, nil
}

// DeletePassword implements store.Passwords.
func (s *Store) DeletePassword(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete password of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	delete(s.passwords, userID)
	return nil
}
