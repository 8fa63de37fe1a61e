package badger

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateAppCredential implements store.AppCredentials.
func (s *Store) CreateAppCredential(ctx context.Context, p store.AppCredential) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("badger: create app credential: empty id or user")
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pAppCred, p.ID)); err != nil || ok {
			return existsErr(ok, err, "id")
		}
		if err := putRaw(txn, indexKey(pUserAppCred, p.UserID, p.ID), nil, zeroTime); err != nil {
			return err
		}
		return put(txn, key(pAppCred, p.ID), p, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create app credential: %w", err)
	}
	return nil
}

// GetAppCredential implements store.AppCredentials.
func (s *Store) GetAppCredential(ctx context.Context, id string) (store.AppCredential, error) {
	var p store.AppCredential
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pAppCred, id), &p) })
	if err != nil {
		return store.AppCredential{}, fmt.Errorf("badger: get app credential: %w", err)
	}
	return p, nil
}

// ListUserAppCredentials implements store.AppCredentials.
func (s *Store) ListUserAppCredentials(ctx context.Context, userID string) ([]store.AppCredential, error) {
	var out []store.AppCredential
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserAppCred, userID), 0)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var p store.AppCredential
			if err := get(txn, key(pAppCred, id), &p); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list app credentials of user %q: %w", userID, err)
	}
	return out, nil
}

// UpdateAppCredential implements store.AppCredentials.
func (s *Store) UpdateAppCredential(ctx context.Context, id string, update func(store.AppCredential) (store.AppCredential, error)) (store.AppCredential, error) {
	pk := key(pAppCred, id)
	return updateRecord(s, ctx, "app credential", id, pk, update, func(txn *badger.Txn, old, p store.AppCredential) error {
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		return put(txn, pk, p, zeroTime)
	})
}

// DeleteAppCredential implements store.AppCredentials. Deleting a missing app credential is not an error.
func (s *Store) DeleteAppCredential(ctx context.Context, id string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		var p store.AppCredential
		if err := get(txn, key(pAppCred, id), &p); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := del(txn, indexKey(pUserAppCred, p.UserID, id)); err != nil {
			return err
		}
		return del(txn, key(pAppCred, id))
	})
	if err != nil {
		return fmt.Errorf("badger: delete app credential: %w", err)
	}
	return nil
}
