package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

func cloneSecondFactor(f store.SecondFactor) store.SecondFactor {
	f.RecoveryCodes = slices.Clone(f.RecoveryCodes)
	return f
}

// CreateSecondFactor implements store.SecondFactors.
func (s *Store) CreateSecondFactor(ctx context.Context, f store.SecondFactor) error {
	if f.UserID == "" {
		return errors.New("memory: create second factor: empty user")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create second factor of user %q: %w", f.UserID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.users[f.UserID]; !ok {
		return fmt.Errorf("memory: create second factor of user %q: user: %w", f.UserID, store.ErrNotFound)
	}
	if _, ok := s.factors[f.UserID]; ok {
		return fmt.Errorf("memory: create second factor of user %q: %w", f.UserID, store.ErrAlreadyExists)
	}
	put(s, s.factors, f.UserID, cloneSecondFactor(f))
	return nil
}

// GetSecondFactor implements store.SecondFactors.
func (s *Store) GetSecondFactor(ctx context.Context, userID string) (store.SecondFactor, error) {
	if err := s.lock(ctx); err != nil {
		return store.SecondFactor{}, fmt.Errorf("memory: get second factor of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	it, ok := s.factors[userID]
	if !ok {
		return store.SecondFactor{}, fmt.Errorf("memory: get second factor of user %q: %w", userID, store.ErrNotFound)
	}
	return cloneSecondFactor(it.rec), nil
}

// UpdateSecondFactor implements store.SecondFactors.
func (s *Store) UpdateSecondFactor(ctx context.Context, userID string, update func(store.SecondFactor) (store.SecondFactor, error)) (store.SecondFactor, error) {
	return updateRecord(s, ctx, "second factor", userID, s.factors, cloneSecondFactor, update, func(_, f store.SecondFactor) error {
		if f.UserID != userID {
			return errIDChanged
		}
		put(s, s.factors, userID, f)
		return nil
	})
}

// DeleteSecondFactor implements store.SecondFactors. Deleting a missing record is not an
// error.
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete second factor of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	delete(s.factors, userID)
	return nil
}
