package badger

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateSecondFactor implements store.SecondFactors.
func (s *Store) CreateSecondFactor(ctx context.Context, f store.SecondFactor) error {
	if f.UserID == "" {
		return errors.New("badger: create second factor: empty user")
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		// Reading the user makes a concurrent DeleteUser conflict with this transaction.
		ok, err := exists(txn, key(pUser, f.UserID))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user: %w", store.ErrNotFound)
		}
		if ok, err := exists(txn, key(pFactor, f.UserID)); err != nil || ok {
			return existsErr(ok, err, "user id")
		}
		return put(txn, key(pFactor, f.UserID), f, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create second factor of user %q: %w", f.UserID, err)
	}
	return nil
}

// GetSecondFactor implements store.SecondFactors.
func (s *Store) GetSecondFactor(ctx context.Context, userID string) (store.SecondFactor, error) {
	var f store.SecondFactor
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pFactor, userID), &f) })
	if err != nil {
		return store.SecondFactor{}, fmt.Errorf("badger: get second factor of user %q: %w", userID, err)
	}
	return f, nil
}

// UpdateSecondFactor implements store.SecondFactors.
func (s *Store) UpdateSecondFactor(ctx context.Context, userID string, update func(store.SecondFactor) (store.SecondFactor, error)) (store.SecondFactor, error) {
	k := key(pFactor, userID)
	return updateRecord(s, ctx, "second factor", userID, k, update, func(txn *badger.Txn, _, f store.SecondFactor) error {
		if f.UserID != userID {
			return errIDChanged
		}
		return put(txn, k, f, zeroTime)
	})
}

// DeleteSecondFactor implements store.SecondFactors. Deleting a missing record is not an
// error.
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	err := s.update(ctx, func(txn *badger.Txn) error { return del(txn, key(pFactor, userID)) })
	if err != nil {
		return fmt.Errorf("badger: delete second factor of user %q: %w", userID, err)
	}
	return nil
}
