package badger

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// PutGroup implements store.Groups.
func (s *Store) PutGroup(ctx context.Context, g store.Group) error {
	if g.Name == "" {
		return errors.New("badger: put group: empty name")
	}
	err := s.update(ctx, func(txn *badger.Txn) error { return put(txn, key(pGroup, g.Name), g, zeroTime) })
	if err != nil {
		return fmt.Errorf("badger: put group %q: %w", g.Name, err)
	}
	return nil
}

// GetGroup implements store.Groups.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	var g store.Group
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pGroup, name), &g) })
	if err != nil {
		return store.Group{}, fmt.Errorf("badger: get group %q: %w", name, err)
	}
	return g, nil
}

// DeleteGroup implements store.Groups. Deleting a missing group is not an error.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := s.delete(ctx, key(pGroup, name)); err != nil {
		return fmt.Errorf("badger: delete group %q: %w", name, err)
	}
	return nil
}

// UpdateGroup implements store.Groups: one transaction, retried on conflict.
func (s *Store) UpdateGroup(ctx context.Context, name string, update func(store.Group, bool) (*store.Group, error)) (store.Group, error) {
	if name == "" {
		return store.Group{}, errors.New("badger: update group: empty name")
	}
	var out store.Group
	var cbErr error
	err := s.update(ctx, func(txn *badger.Txn) error {
		var old store.Group
		err := get(txn, key(pGroup, name), &old)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		nu, err := update(old, exists)
		if err != nil {
			cbErr = err
			return err
		}
		if nu == nil {
			out = store.Group{}
			if !exists {
				return nil
			}
			return txn.Delete(key(pGroup, name))
		}
		if nu.Name != name {
			return errors.New("the name changed")
		}
		out = *nu
		return put(txn, key(pGroup, name), *nu, zeroTime)
	})
	if cbErr != nil {
		return store.Group{}, cbErr
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("badger: update group %q: %w", name, err)
	}
	return out, nil
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context, opts store.ListOptions) ([]store.Group, error) {
	var out []store.Group
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		out, err = listJSON[store.Group](txn, pGroup, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list groups: %w", err)
	}
	return out, nil
}
