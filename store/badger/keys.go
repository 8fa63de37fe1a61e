package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return errors.New("badger: create key: empty id")
	}
	err := s.create(ctx, key(pKey, k.ID), k, zeroTime)
	if err != nil {
		return fmt.Errorf("badger: create key %q: %w", k.ID, err)
	}
	return nil
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	var out []store.SigningKey
	err := s.view(ctx, func(txn *badger.Txn) error {
		return scan(txn, []byte(pKey), "", func(suffix []byte, item *badger.Item) (bool, error) {
			var k store.SigningKey
			if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &k) }); err != nil {
				return false, fmt.Errorf("decode %q: %w", pKey+string(suffix), err)
			}
			out = append(out, k)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list keys: %w", err)
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateKey implements store.Keys.
func (s *Store) UpdateKey(ctx context.Context, id string, update func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	kk := key(pKey, id)
	return updateRecord(s, ctx, "key", id, kk, update, func(txn *badger.Txn, _, k store.SigningKey) error {
		if k.ID != id {
			return errIDChanged
		}
		return put(txn, kk, k, zeroTime)
	})
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.delete(ctx, key(pKey, id)); err != nil {
		return fmt.Errorf("badger: delete key %q: %w", id, err)
	}
	return nil
}
