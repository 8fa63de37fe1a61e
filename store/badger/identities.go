package badger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// identityID is the key suffix of an identity: provider names cannot contain "/".
func identityID(provider, subject string) string { return provider + "/" + subject }

// CreateIdentity implements store.Identities.
func (s *Store) CreateIdentity(ctx context.Context, id store.Identity) error {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" || strings.Contains(id.Provider, "/") {
		return errors.New("badger: create identity: empty provider, subject or user, or / in provider")
	}
	iid := identityID(id.Provider, id.Subject)
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pIdentity, iid)); err != nil || ok {
			return existsErr(ok, err, "identity")
		}
		if ok, err := exists(txn, key(pUser, id.UserID)); err != nil || !ok {
			if err == nil {
				err = store.ErrNotFound
			}
			return fmt.Errorf("user %q: %w", id.UserID, err)
		}
		if err := putRaw(txn, indexKey(pUserIdent, id.UserID, iid), nil, zeroTime); err != nil {
			return err
		}
		return put(txn, key(pIdentity, iid), id, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create identity: %w", err)
	}
	return nil
}

// GetIdentity implements store.Identities.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (store.Identity, error) {
	var id store.Identity
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pIdentity, identityID(provider, subject)), &id) })
	if err != nil {
		return store.Identity{}, fmt.Errorf("badger: get identity: %w", err)
	}
	return id, nil
}

// ListUserIdentities implements store.Identities.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	var out []store.Identity
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserIdent, userID), 0)
		if err != nil {
			return err
		}
		for _, iid := range ids {
			var id store.Identity
			if err := get(txn, key(pIdentity, iid), &id); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list identities of user %q: %w", userID, err)
	}
	// The index is in the byte order of "provider/subject", which is not provider-then-
	// subject order when a provider name is the prefix of another followed by a byte below
	// "/" ("google-workspace/1" sorts before "google/0").
	slices.SortFunc(out, func(a, b store.Identity) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Subject, b.Subject))
	})
	return out, nil
}

// TouchIdentity implements store.Identities.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject, email string, at time.Time) error {
	iid := identityID(provider, subject)
	_, err := updateRecord(s, ctx, "identity", iid, key(pIdentity, iid), func(id store.Identity) (store.Identity, error) {
		id.LastUsedAt = at
		if email != "" {
			id.Email = email
		}
		return id, nil
	}, func(txn *badger.Txn, _, id store.Identity) error { return put(txn, key(pIdentity, iid), id, zeroTime) })
	return err
}

// DeleteIdentity implements store.Identities.
func (s *Store) DeleteIdentity(ctx context.Context, provider, subject string) error {
	iid := identityID(provider, subject)
	err := s.update(ctx, func(txn *badger.Txn) error {
		var id store.Identity
		if err := get(txn, key(pIdentity, iid), &id); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := del(txn, indexKey(pUserIdent, id.UserID, iid)); err != nil {
			return err
		}
		return del(txn, key(pIdentity, iid))
	})
	if err != nil {
		return fmt.Errorf("badger: delete identity: %w", err)
	}
	return nil
}
