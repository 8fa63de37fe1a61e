package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// consentKey identifies a consent: a user and a client.
type consentKey struct{ user, client string }

func cloneConsent(c store.Consent) store.Consent {
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

// PutConsent implements store.Consents.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.UserID == "" || c.ClientID == "" {
		return errors.New("memory: put consent: empty user or client")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: put consent: %w", err)
	}
	defer s.mu.Unlock()
	if _, ok := s.users[c.UserID]; !ok {
		return fmt.Errorf("memory: put consent: user %q: %w", c.UserID, store.ErrNotFound)
	}
	s.consents[consentKey{c.UserID, c.ClientID}] = cloneConsent(c)
	return nil
}

// GetConsent implements store.Consents.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	if err := s.lock(ctx); err != nil {
		return store.Consent{}, fmt.Errorf("memory: get consent: %w", err)
	}
	defer s.mu.Unlock()
	c, ok := s.consents[consentKey{userID, clientID}]
	if !ok {
		return store.Consent{}, fmt.Errorf("memory: get consent: %w", store.ErrNotFound)
	}
	return cloneConsent(c), nil
}

// ListUserConsents implements store.Consents.
func (s *Store) ListUserConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list consents of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var out []store.Consent
	for k, c := range s.consents {
		if k.user == userID {
			out = append(out, cloneConsent(c))
		}
	}
	slices.SortFunc(out, func(a, b store.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// DeleteConsent implements store.Consents.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete consent: %w", err)
	}
	defer s.mu.Unlock()
	delete(s.consents, consentKey{userID, clientID})
	return nil
}

// ListUserGrants implements store.RefreshTokens.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]store.Grant, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list grants of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var out []store.Grant
	for id, f := range s.families {
		if f.userID != userID || f.revoked || (!f.expiresAt.IsZero() && !f.expiresAt.After(now)) {
			continue
		}
		out = append(out, store.Grant{FamilyID: id, ClientID: f.clientID, SessionID: f.sessionID,
			Scopes: slices.Clone(f.scopes), CreatedAt: f.createdAt, ExpiresAt: f.expiresAt})
	}
	slices.SortFunc(out, func(a, b store.Grant) int { return strings.Compare(a.FamilyID, b.FamilyID) })
	return out, nil
}
