package badger

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// GetSetting implements store.Settings.
func (s *Store) GetSetting(ctx context.Context, k string) (store.Setting, error) {
	var v store.Setting
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pSetting, k), &v) })
	if err != nil {
		return store.Setting{}, fmt.Errorf("badger: get setting %q: %w", k, err)
	}
	return v, nil
}

// ListSettings implements store.Settings.
func (s *Store) ListSettings(ctx context.Context, opts store.ListOptions) ([]store.Setting, error) {
	var out []store.Setting
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		out, err = listJSON[store.Setting](txn, pSetting, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list settings: %w", err)
	}
	return out, nil
}

// storedVersion returns the version stored at k (0: none).
func storedVersion(txn *badger.Txn, k []byte) (int64, error) {
	var cur store.Setting
	err := get(txn, k, &cur)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return cur.Version, err
}

// PutSetting implements store.Settings: the version check and the write are one
// transaction (a concurrent writer conflicts and retries on the new version, which then
// no longer matches).
func (s *Store) PutSetting(ctx context.Context, rec store.Setting, expected int64) (store.Setting, error) {
	if rec.Key == "" {
		return store.Setting{}, errors.New("badger: put setting: empty key")
	}
	k := key(pSetting, rec.Key)
	defer s.lockKey(k)()
	rec.Version = expected + 1
	err := s.update(ctx, func(txn *badger.Txn) error {
		v, err := storedVersion(txn, k)
		if err != nil {
			return err
		}
		if v != expected {
			return fmt.Errorf("stored version %d, expected %d: %w", v, expected, store.ErrVersionMismatch)
		}
		return put(txn, k, rec, zeroTime)
	})
	if err != nil {
		return store.Setting{}, fmt.Errorf("badger: put setting %q: %w", rec.Key, err)
	}
	return rec, nil
}

// DeleteSetting implements store.Settings.
func (s *Store) DeleteSetting(ctx context.Context, k string, expected int64) error {
	bk := key(pSetting, k)
	defer s.lockKey(bk)()
	err := s.update(ctx, func(txn *badger.Txn) error {
		var cur store.Setting
		if err := get(txn, bk, &cur); err != nil {
			return err
		}
		if cur.Version != expected {
			return fmt.Errorf("stored version %d, expected %d: %w", cur.Version, expected, store.ErrVersionMismatch)
		}
		return del(txn, bk)
	})
	if err != nil {
		return fmt.Errorf("badger: delete setting %q: %w", k, err)
	}
	return nil
}
