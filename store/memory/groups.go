package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// PutGroup implements store.Groups.
func (s *Store) PutGroup(ctx context.Context, g store.Group) error {
	if g.Name == "" {
		return errors.New("memory: put group: empty name")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: put group %q: %w", g.Name, err)
	}
	defer s.mu.Unlock()
	put(s, s.groups, g.Name, cloneGroup(g))
	return nil
}

// GetGroup implements store.Groups.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	if err := s.lock(ctx); err != nil {
		return store.Group{}, fmt.Errorf("memory: get group %q: %w", name, err)
	}
	defer s.mu.Unlock()
	it, ok := s.groups[name]
	if !ok {
		return store.Group{}, fmt.Errorf("memory: get group %q: %w", name, store.ErrNotFound)
	}
	return cloneGroup(it.rec), nil
}

// DeleteGroup implements store.Groups. Deleting a missing group is not an error.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete group %q: %w", name, err)
	}
	defer s.mu.Unlock()
	delete(s.groups, name)
	return nil
}

// UpdateGroup implements store.Groups.
func (s *Store) UpdateGroup(ctx context.Context, name string, update func(store.Group, bool) (*store.Group, error)) (store.Group, error) {
	if name == "" {
		return store.Group{}, errors.New("memory: update group: empty name")
	}
	if err := s.lock(ctx); err != nil {
		return store.Group{}, fmt.Errorf("memory: update group %q: %w", name, err)
	}
	defer s.mu.Unlock()
	var old store.Group
	it, exists := s.groups[name]
	if exists {
		old = cloneGroup(it.rec)
	}
	nu, err := update(old, exists)
	if err != nil {
		return store.Group{}, err
	}
	if nu == nil {
		delete(s.groups, name)
		return store.Group{}, nil
	}
	if nu.Name != name {
		return store.Group{}, fmt.Errorf("memory: update group %q: the name changed", name)
	}
	put(s, s.groups, name, cloneGroup(*nu))
	return cloneGroup(*nu), nil
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context, opts store.ListOptions) ([]store.Group, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list groups: %w", err)
	}
	defer s.mu.Unlock()
	return page(s.groups, opts, nil, cloneGroup), nil
}
