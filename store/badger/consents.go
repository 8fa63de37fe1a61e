package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// consentKey is the key of a consent: cs/<len:user>client, so that a prefix scan lists a
// user's consents in client order.
func consentKey(userID, clientID string) []byte { return indexKey(pConsent, userID, clientID) }

// PutConsent implements store.Consents.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.UserID == "" || c.ClientID == "" {
		return errors.New("badger: put consent: empty user or client")
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pUser, c.UserID)); err != nil || !ok {
			if err == nil {
				err = store.ErrNotFound
			}
			return fmt.Errorf("user %q: %w", c.UserID, err)
		}
		return put(txn, consentKey(c.UserID, c.ClientID), c, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: put consent: %w", err)
	}
	return nil
}

// GetConsent implements store.Consents.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var c store.Consent
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, consentKey(userID, clientID), &c) })
	if err != nil {
		return store.Consent{}, fmt.Errorf("badger: get consent: %w", err)
	}
	return c, nil
}

// ListUserConsents implements store.Consents.
func (s *Store) ListUserConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	var out []store.Consent
	err := s.view(ctx, func(txn *badger.Txn) error {
		clients, err := indexIDs(txn, indexPrefix(pConsent, userID), 0)
		if err != nil {
			return err
		}
		for _, clientID := range clients {
			var c store.Consent
			if err := get(txn, consentKey(userID, clientID), &c); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list consents of user %q: %w", userID, err)
	}
	return out, nil
}

// DeleteConsent implements store.Consents.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if err := s.delete(ctx, consentKey(userID, clientID)); err != nil {
		return fmt.Errorf("badger: delete consent: %w", err)
	}
	return nil
}

// deleteUserConsents removes the user's consents (DeleteUser).
func deleteUserConsents(txn *badger.Txn, userID string) error {
	clients, err := indexIDs(txn, indexPrefix(pConsent, userID), 0)
	if err != nil {
		return err
	}
	for _, clientID := range clients {
		if err := del(txn, consentKey(userID, clientID)); err != nil {
			return err
		}
	}
	return nil
}

// ListUserGrants implements store.RefreshTokens.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]store.Grant, error) {
	var out []store.Grant
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserFamily, userID), 0)
		if err != nil {
			return err
		}
		for _, id := range ids {
			f, err := getFamily(txn, id)
			if err != nil {
				return err
			}
			if f.Revoked || f.UserID != userID || (!f.ExpiresAt.IsZero() && !f.ExpiresAt.After(now)) {
				continue
			}
			out = append(out, store.Grant{FamilyID: f.ID, ClientID: f.ClientID, SessionID: f.SessionID,
				Scopes: f.Scopes, CreatedAt: f.CreatedAt, ExpiresAt: f.ExpiresAt})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list grants of user %q: %w", userID, err)
	}
	return out, nil
}
