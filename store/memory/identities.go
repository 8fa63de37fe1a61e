package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// identityKey identifies a linked upstream identity.
type identityKey struct{ provider, subject string }

// CreateIdentity implements store.Identities. Like Badger, it refuses a provider name
// containing "/".
func (s *Store) CreateIdentity(ctx context.Context, id store.Identity) error {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" || strings.Contains(id.Provider, "/") {
		return errors.New("memory: create identity: empty provider, subject or user, or / in provider")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create identity: %w", err)
	}
	defer s.mu.Unlock()
	k := identityKey{id.Provider, id.Subject}
	if _, ok := s.identities[k]; ok {
		return fmt.Errorf("memory: create identity: %w", taken("identity"))
	}
	if _, ok := s.users[id.UserID]; !ok {
		return fmt.Errorf("memory: create identity: user %q: %w", id.UserID, store.ErrNotFound)
	}
	s.identities[k] = id
	return nil
}

// GetIdentity implements store.Identities.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (store.Identity, error) {
	if err := s.lock(ctx); err != nil {
		return store.Identity{}, fmt.Errorf("memory: get identity: %w", err)
	}
	defer s.mu.Unlock()
	id, ok := s.identities[identityKey{provider, subject}]
	if !ok {
		return store.Identity{}, fmt.Errorf("memory: get identity: %w", store.ErrNotFound)
	}
	return id, nil
}

// ListUserIdentities implements store.Identities.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list identities of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var out []store.Identity
	for _, id := range s.identities {
		if id.UserID == userID {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b store.Identity) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Subject, b.Subject))
	})
	return out, nil
}

// TouchIdentity implements store.Identities.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject, email string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: touch identity: %w", err)
	}
	defer s.mu.Unlock()
	k := identityKey{provider, subject}
	id, ok := s.identities[k]
	if !ok {
		return fmt.Errorf("memory: touch identity: %w", store.ErrNotFound)
	}
	id.LastUsedAt = at
	if email != "" {
		id.Email = email
	}
	s.identities[k] = id
	return nil
}

// DeleteIdentity implements store.Identities.
func (s *Store) DeleteIdentity(ctx context.Context, provider, subject string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete identity: %w", err)
	}
	defer s.mu.Unlock()
	delete(s.identities, identityKey{provider, subject})
	return nil
}
