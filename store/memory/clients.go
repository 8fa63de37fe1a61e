package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateClient implements store.Clients.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return errors.New("memory: create client: empty id")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create client %q: %w", c.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("memory: create client %q: %w", c.ID, taken("id"))
	}
	put(s, s.clients, c.ID, cloneClient(c))
	return nil
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	if err := s.lock(ctx); err != nil {
		return store.Client{}, fmt.Errorf("memory: get client %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.clients[id]
	if !ok {
		return store.Client{}, fmt.Errorf("memory: get client %q: %w", id, store.ErrNotFound)
	}
	return cloneClient(it.rec), nil
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	return updateRecord(s, ctx, "client", id, s.clients, cloneClient, update, func(_, c store.Client) error {
		if c.ID != id {
			return errIDChanged
		}
		put(s, s.clients, id, c)
		return nil
	})
}

// DeleteClient implements store.Clients. Deleting a missing client is not an error.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete client %q: %w", id, err)
	}
	defer s.mu.Unlock()
	delete(s.clients, id)
	return nil
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context, opts store.ListOptions) ([]store.Client, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list clients: %w", err)
	}
	defer s.mu.Unlock()
	return page(s.clients, opts, nil, cloneClient), nil
}
