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
