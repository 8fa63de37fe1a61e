package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return errors.New("badger: create user: empty id")
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pUser, u.ID)); err != nil || ok {
			return existsErr(ok, err, "id")
		}
		if u.Email != "" {
			if ok, err := exists(txn, key(pUserEmail, u.Email)); err != nil || ok {
				return existsErr(ok, err, "email")
			}
			if err := putRaw(txn, key(pUserEmail, u.Email), []byte(u.ID), zeroTime); err != nil {
				return err
			}
		}
		if ph := verifiedPhone(u); ph != "" {
			if ok, err := exists(txn, key(pUserPhone, ph)); err != nil || ok {
				return existsErr(ok, err, "phone number")
			}
			if err := putRaw(txn, key(pUserPhone, ph), []byte(u.ID), zeroTime); err != nil {
				return err
			}
		}
		if u.ExternalUserID != "" {
			if ok, err := exists(txn, key(pUserExt, u.ExternalUserID)); err != nil || ok {
				return existsErr(ok, err, "external user id")
			}
			if err := putRaw(txn, key(pUserExt, u.ExternalUserID), []byte(u.ID), zeroTime); err != nil {
				return err
			}
		}
		if err := moveUserIndexes(txn, nil, &u); err != nil {
			return err
		}
		return put(txn, key(pUser, u.ID), u, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create user %q: %w", u.ID, err)
	}
	return nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pUser, id), &u)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("badger: get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail implements store.Users. The email is left out of errors.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := s.userByIndex(ctx, pUserEmail, email)
	if err != nil {
		return store.User{}, fmt.Errorf("badger: get user by email: %w", err)
	}
	return u, nil
}

// verifiedPhone is the user's phone number if verified: only verified numbers are indexed, so
// nobody can claim another person's number by typing it.
func verifiedPhone(u store.User) string {
	if u.PhoneNumberVerified {
		return u.PhoneNumber
	}
	return ""
}

// GetUserByPhone implements store.Users. The number is left out of errors.
func (s *Store) GetUserByPhone(ctx context.Context, phone string) (store.User, error) {
	u, err := s.userByIndex(ctx, pUserPhone, phone)
	if err != nil {
		return store.User{}, fmt.Errorf("badger: get user by phone: %w", err)
	}
	return u, nil
}

// GetUserByExternalID implements store.Users.
func (s *Store) GetUserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	u, err := s.userByIndex(ctx, pUserExt, externalID)
	if err != nil {
		return store.User{}, fmt.Errorf("badger: get user by external id %q: %w", externalID, err)
	}
	return u, nil
}

func (s *Store) userByIndex(ctx context.Context, prefix, value string) (store.User, error) {
	var u store.User
	if value == "" {
		return u, store.ErrNotFound
	}
	err := s.view(ctx, func(txn *badger.Txn) error {
		id, err := getIndex(txn, key(prefix, value))
		if err != nil {
			return err
		}
		return get(txn, key(pUser, id), &u)
	})
	return u, err
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	return updateRecord(s, ctx, "user", id, key(pUser, id), update, func(txn *badger.Txn, old, u store.User) error {
		return writeUser(txn, id, old, u)
	})
}

// writeUser stores u, the update of the stored user old, with its index entries moved.
func writeUser(txn *badger.Txn, id string, old, u store.User) error {
	if u.ID != id {
		return errIDChanged
	}
	if err := moveIndex(txn, pUserEmail, old.Email, u.Email, id, "email"); err != nil {
		return err
	}
	if err := moveIndex(txn, pUserExt, old.ExternalUserID, u.ExternalUserID, id, "external user id"); err != nil {
		return err
	}
	if err := moveIndex(txn, pUserPhone, verifiedPhone(old), verifiedPhone(u), id, "phone number"); err != nil {
		return err
	}
	if err := moveUserIndexes(txn, &old, &u); err != nil {
		return err
	}
	return put(txn, key(pUser, id), u, zeroTime)
}

// moveIndex moves the unique index entry prefix/oldVal -> id to prefix/newVal, failing
// with ErrAlreadyExists if newVal is indexed to another user. Empty values are not indexed.
func moveIndex(txn *badger.Txn, prefix, oldVal, newVal, id, field string) error {
	if oldVal == newVal {
		return nil
	}
	if newVal != "" {
		owner, err := getIndex(txn, key(prefix, newVal))
		switch {
		case err == nil && owner != id:
			return fmt.Errorf("%s taken: %w", field, store.ErrAlreadyExists)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := putRaw(txn, key(prefix, newVal), []byte(id), zeroTime); err != nil {
			return err
		}
	}
	if oldVal != "" {
		return del(txn, key(prefix, oldVal))
	}
	return nil
}

// DeleteUser implements store.Users. Deleting a missing user returns ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	uk := key(pUser, id)
	err := s.update(ctx, func(txn *badger.Txn) error {
		var u store.User
		if err := get(txn, uk, &u); err != nil {
			return err
		}
		for _, idx := range []struct{ prefix, val string }{{pUserEmail, u.Email}, {pUserExt, u.ExternalUserID}, {pUserPhone, verifiedPhone(u)}} {
			if idx.val == "" {
				continue
			}
			// Only remove an index entry that points to this user.
			owner, err := getIndex(txn, key(idx.prefix, idx.val))
			if err == nil && owner == id {
				if err := del(txn, key(idx.prefix, idx.val)); err != nil {
					return err
				}
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := moveUserIndexes(txn, &u, nil); err != nil {
			return err
		}
		if err := del(txn, key(pPassword, id)); err != nil {
			return err
		}
		if err := del(txn, key(pFactor, id)); err != nil {
			return err
		}
		pks, err := indexIDs(txn, indexPrefix(pUserPasskey, id), 0)
		if err != nil {
			return err
		}
		for _, pk := range pks {
			if err := del(txn, key(pPasskey, pk)); err != nil {
				return err
			}
			if err := del(txn, indexKey(pUserPasskey, id, pk)); err != nil {
				return err
			}
		}
		idents, err := indexIDs(txn, indexPrefix(pUserIdent, id), 0)
		if err != nil {
			return err
		}
		for _, iid := range idents {
			if err := del(txn, key(pIdentity, iid)); err != nil {
				return err
			}
			if err := del(txn, indexKey(pUserIdent, id, iid)); err != nil {
				return err
			}
		}
		if err := deleteUserConsents(txn, id); err != nil {
			return err
		}
		creds, err := indexIDs(txn, indexPrefix(pUserAppCred, id), 0)
		if err != nil {
			return err
		}
		for _, cid := range creds {
			if err := del(txn, key(pAppCred, cid)); err != nil {
				return err
			}
			if err := del(txn, indexKey(pUserAppCred, id, cid)); err != nil {
				return err
			}
		}
		return del(txn, uk)
	})
	if err == nil {
		err = s.deleteUserGrants(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("badger: delete user %q: %w", id, err)
	}
	return nil
}

// deleteUserGrants removes the user's refresh-token families (with their index entries),
// refresh tokens and authorization codes, after the user itself. Tokens and codes have no
// index by user, so they are found by one scan of each (a rare administrative action);
// the deletions are batched, batchSize keys per transaction.
func (s *Store) deleteUserGrants(ctx context.Context, id string) error {
	var keys [][]byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		fids, err := indexIDs(txn, indexPrefix(pUserFamily, id), 0)
		if err != nil {
			return err
		}
		for _, fid := range fids {
			var f family
			if err := get(txn, key(pFamily, fid), &f); err == nil && f.SessionID != "" {
				keys = append(keys, indexKey(pSessFamily, f.SessionID, fid))
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			keys = append(keys, key(pFamily, fid), indexKey(pUserFamily, id, fid))
		}
		for _, prefix := range []string{pToken, pCode} {
			err := scan(txn, []byte(prefix), "", func(suffix []byte, item *badger.Item) (bool, error) {
				var rec struct {
					UserID string `json:"user_id"`
				}
				if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
					return false, err
				}
				if rec.UserID == id {
					keys = append(keys, key(prefix, string(suffix)))
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for len(keys) > 0 && err == nil {
		n := min(len(keys), batchSize)
		err = s.update(ctx, func(txn *badger.Txn) error {
			for _, k := range keys[:n] {
				if err := del(txn, k); err != nil {
					return err
				}
			}
			return nil
		})
		keys = keys[n:]
	}
	return err
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, opts store.ListOptions) ([]store.User, error) {
	var out []store.User
	err := s.view(ctx, func(txn *badger.Txn) (err error) {
		out, err = listJSON[store.User](txn, pUser, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list users: %w", err)
	}
	return out, nil
}
