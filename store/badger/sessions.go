package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// sessionExpiry is the TTL of a session and its index entry: the earlier of its non-zero
// idle and absolute expiries. (store.Session.ExpiresAt treats a zero idle expiry as the
// earliest; here a zero expiry means "none", so a zero idle expiry never purges the
// session early and never disables the absolute one.)
func sessionExpiry(se store.Session) time.Time {
	return earliest(se.IdleExpiresAt, se.AbsoluteExpiresAt)
}

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	if se.ID == "" {
		return errors.New("badger: create session: empty id")
	}
	sk := key(pSession, se.ID)
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, sk); err != nil || ok {
			return existsErr(ok, err, "id")
		}
		return putSession(txn, se)
	})
	if err != nil {
		return fmt.Errorf("badger: create session %q: %w", se.ID, err)
	}
	return nil
}

// StartSession implements store.Sessions: the session and the user's update are one
// transaction (one synced write).
func (s *Store) StartSession(ctx context.Context, se store.Session, update func(store.User) (store.User, error)) (store.User, error) {
	if se.ID == "" {
		return store.User{}, errors.New("badger: start session: empty id")
	}
	sk := key(pSession, se.ID)
	return updateRecord(s, ctx, "user", se.UserID, key(pUser, se.UserID), update, func(txn *badger.Txn, old, u store.User) error {
		if ok, err := exists(txn, sk); err != nil || ok {
			return existsErr(ok, err, "session id")
		}
		if err := writeUser(txn, se.UserID, old, u); err != nil {
			return err
		}
		return putSession(txn, se)
	})
}

// putSession writes the session and its user index entry with the session's TTL.
func putSession(txn *badger.Txn, se store.Session) error {
	exp := sessionExpiry(se)
	if err := putRaw(txn, indexKey(pUserSession, se.UserID, se.ID), nil, exp); err != nil {
		return err
	}
	return put(txn, key(pSession, se.ID), se, exp)
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var se store.Session
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pSession, id), &se)
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("badger: get session %q: %w", id, err)
	}
	return se, nil
}

// UpdateSession implements store.Sessions. The TTL follows the updated expiry; a changed
// UserID moves the index entry.
func (s *Store) UpdateSession(ctx context.Context, id string, update func(store.Session) (store.Session, error)) (store.Session, error) {
	return updateRecord(s, ctx, "session", id, key(pSession, id), update, func(txn *badger.Txn, old, se store.Session) error {
		if se.ID != id {
			return errIDChanged
		}
		if se.UserID != old.UserID {
			if err := del(txn, indexKey(pUserSession, old.UserID, id)); err != nil {
				return err
			}
		}
		return putSession(txn, se)
	})
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	sk := key(pSession, id)
	err := s.update(ctx, func(txn *badger.Txn) error {
		var se store.Session
		err := get(txn, sk, &se)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := del(txn, indexKey(pUserSession, se.UserID, id)); err != nil {
			return err
		}
		return del(txn, sk)
	})
	if err != nil {
		return fmt.Errorf("badger: delete session %q: %w", id, err)
	}
	return nil
}

// ListUserSessions implements store.Sessions. Sessions are ordered by ID.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	var out []store.Session
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserSession, userID), 0)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var se store.Session
			err := get(txn, key(pSession, id), &se)
			if errors.Is(err, store.ErrNotFound) {
				continue // expired between the index entry and the record
			}
			if err != nil {
				return err
			}
			out = append(out, se)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list sessions of user %q: %w", userID, err)
	}
	return out, nil
}

// DeleteUserSessions implements store.Sessions. The sessions are deleted in batches of
// batchSize per transaction; each batch is durable when the next starts.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) ([]string, error) {
	prefix := indexPrefix(pUserSession, userID)
	var deleted []string
	for {
		var batch []string
		err := s.update(ctx, func(txn *badger.Txn) error {
			ids, err := indexIDs(txn, prefix, batchSize)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := del(txn, key(pSession, id)); err != nil {
					return err
				}
				if err := del(txn, indexKey(pUserSession, userID, id)); err != nil {
					return err
				}
			}
			batch = ids
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("badger: delete sessions of user %q: %w", userID, err)
		}
		deleted = append(deleted, batch...)
		if len(batch) < batchSize {
			return deleted, nil
		}
	}
}
