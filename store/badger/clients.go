package badger

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateClient implements store.Clients.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return errors.New("badger: create client: empty id")
	}
	if err := s.create(ctx, key(pClient, c.ID), c, zeroTime); err != nil {
		return fmt.Errorf("badger: create client %q: %w", c.ID, err)
	}
	return nil
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var c store.Client
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pClient, id), &c)
	})
	if err != nil {
		return store.Client{}, fmt.Errorf("badger: get client %q: %w", id, err)
	}
	return c, nil
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	ck := key(pClient, id)
	return updateRecord(s, ctx, "client", id, ck, update, func(txn *badger.Txn, _, c store.Client) error {
		if c.ID != id {
			return errIDChanged
		}
		return put(txn, ck, c, zeroTime)
	})
}

// DeleteClient implements store.Clients. Deleting a missing client is not an error.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := s.delete(ctx, key(pClient, id)); err != nil {
		return fmt.Errorf("badger: delete client %q: %w", id, err)
	}
	return nil
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context, opts store.ListOptions) ([]store.Client, error) {
	var out []store.Client
	err := s.view(ctx, func(txn *badger.Txn) (err error) {
		out, err = listJSON[store.Client](txn, pClient, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list clients: %w", err)
	}
	return out, nil
}
