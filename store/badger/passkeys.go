package badger

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreatePasskey implements store.Passkeys.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("badger: create passkey: empty id or user")
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pPasskey, p.ID)); err != nil || ok {
			return existsErr(ok, err, "credential id")
		}
		if err := putRaw(txn, indexKey(pUserPasskey, p.UserID, p.ID), nil, zeroTime); err != nil {
			return err
		}
		return put(txn, key(pPasskey, p.ID), p, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create passkey: %w", err)
	}
	return nil
}

// GetPasskey implements store.Passkeys.
func (s *Store) GetPasskey(ctx context.Context, id string) (store.Passkey, error) {
	var p store.Passkey
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pPasskey, id), &p) })
	if err != nil {
		return store.Passkey{}, fmt.Errorf("badger: get passkey: %w", err)
	}
	return p, nil
}

// ListUserPasskeys implements store.Passkeys.
func (s *Store) ListUserPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	var out []store.Passkey
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserPasskey, userID), 0)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var p store.Passkey
			if err := get(txn, key(pPasskey, id), &p); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list passkeys of user %q: %w", userID, err)
	}
	return out, nil
}

// UpdatePasskey implements store.Passkeys.
func (s *Store) UpdatePasskey(ctx context.Context, id string, update func(store.Passkey) (store.Passkey, error)) (store.Passkey, error) {
	pk := key(pPasskey, id)
	return updateRecord(s, ctx, "passkey", id, pk, update, func(txn *badger.Txn, old, p store.Passkey) error {
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		return put(txn, pk, p, zeroTime)
	})
}

// UpdatePasskeyConsuming implements store.Passkeys: the code's deletion and the
// passkey's update are one transaction (one synced write); Badger's conflict detection
// lets one of concurrent consumers of the code commit.
func (s *Store) UpdatePasskeyConsuming(ctx context.Context, codeID, id string, update func(store.Passkey) (store.Passkey, error)) (store.OneTimeCode, store.Passkey, error) {
	pk, ck := key(pPasskey, id), key(pOneTime, codeID)
	defer s.lockKey(pk)()
	var code store.OneTimeCode
	var out store.Passkey
	var cbErr error
	err := s.update(ctx, func(txn *badger.Txn) error {
		code = store.OneTimeCode{} // a retry decodes afresh
		if err := get(txn, ck, &code); err != nil {
			return fmt.Errorf("one-time code %q: %w", codeID, err)
		}
		var old store.Passkey
		if err := get(txn, pk, &old); err != nil {
			return err
		}
		p, err := update(old)
		if err != nil {
			cbErr = err
			return err
		}
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		if err := del(txn, indexKey(pOneTimePurp, code.Purpose, codeID)); err != nil {
			return err
		}
		if err := del(txn, ck); err != nil {
			return err
		}
		out = p
		return put(txn, pk, p, zeroTime)
	})
	if cbErr != nil {
		return store.OneTimeCode{}, store.Passkey{}, cbErr
	}
	if err != nil {
		return store.OneTimeCode{}, store.Passkey{}, fmt.Errorf("badger: update passkey %q: %w", id, err)
	}
	return code, out, nil
}

// DeletePasskey implements store.Passkeys. Deleting a missing passkey is not an error.
func (s *Store) DeletePasskey(ctx context.Context, id string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		var p store.Passkey
		if err := get(txn, key(pPasskey, id), &p); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := del(txn, indexKey(pUserPasskey, p.UserID, id)); err != nil {
			return err
		}
		return del(txn, key(pPasskey, id))
	})
	if err != nil {
		return fmt.Errorf("badger: delete passkey: %w", err)
	}
	return nil
}
