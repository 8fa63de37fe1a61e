package badger

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// SetPassword implements store.Passwords.
func (s *Store) SetPassword(ctx context.Context, c store.PasswordCredential) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		// Reading the user makes a concurrent DeleteUser conflict with this transaction.
		ok, err := exists(txn, key(pUser, c.UserID))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user: %w", store.ErrNotFound)
		}
		return put(txn, key(pPassword, c.UserID), c, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: set password of user %q: %w", c.UserID, err)
	}
	return nil
}

// GetPassword implements store.Passwords.
func (s *Store) GetPassword(ctx context.Context, userID string) (store.PasswordCredential, error) {
	var c store.PasswordCredential
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pPassword, userID), &c)
	})
	if err != nil {
		return store.PasswordCredential{}, fmt.Errorf("badger: get password of user %q: %w", userID, err)
	}
	return c, nil
}

// DeletePassword implements store.Passwords.
func (s *Store) DeletePassword(ctx context.Context, userID string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		return del(txn, key(pPassword, userID))
	})
	if err != nil {
		return fmt.Errorf("badger: delete password of user %q: %w", userID, err)
	}
	return nil
}
