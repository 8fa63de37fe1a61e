package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return errors.New("memory: create key: empty id")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create key %q: %w", k.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return fmt.Errorf("memory: create key %q: %w", k.ID, taken("id"))
	}
	put(s, s.keys, k.ID, cloneSigningKey(k))
	return nil
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list keys: %w", err)
	}
	defer s.mu.Unlock()
	var out []store.SigningKey
	for _, it := range s.keys {
		out = append(out, cloneSigningKey(it.rec))
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateKey implements store.Keys.
func (s *Store) UpdateKey(ctx context.Context, id string, update func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	return updateRecord(s, ctx, "key", id, s.keys, cloneSigningKey, update, func(_, k store.SigningKey) error {
		if k.ID != id {
			return errIDChanged
		}
		put(s, s.keys, id, k)
		return nil
	})
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete key %q: %w", id, err)
	}
	defer s.mu.Unlock()
	delete(s.keys, id)
	return nil
}
