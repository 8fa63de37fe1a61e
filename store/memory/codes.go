package memory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// codeRecord is a stored authorization code. Redeemed is the authoritative "used" flag, so
// that a redemption counts even if the caller passed a zero time or an empty grant ID.
type codeRecord struct {
	code     store.AuthCode
	redeemed bool
}

// CreateAuthCode implements store.AuthCodes. A code created with a RedeemedAt is redeemed.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if c.ID == "" {
		return errors.New("memory: create auth code: empty id")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create auth code %q: %w", c.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.codes[c.ID]; ok {
		return fmt.Errorf("memory: create auth code %q: %w", c.ID, taken("id"))
	}
	s.codes[c.ID] = codeRecord{code: cloneAuthCode(c), redeemed: !c.RedeemedAt.IsZero()}
	return nil
}

// RedeemAuthCode implements store.AuthCodes.
func (s *Store) RedeemAuthCode(ctx context.Context, id, grantID string, now time.Time) (store.AuthCode, error) {
	if err := s.lock(ctx); err != nil {
		return store.AuthCode{}, fmt.Errorf("memory: redeem auth code %q: %w", id, err)
	}
	defer s.mu.Unlock()
	rec, ok := s.codes[id]
	if !ok {
		return store.AuthCode{}, fmt.Errorf("memory: redeem auth code %q: %w", id, store.ErrNotFound)
	}
	if rec.redeemed {
		return cloneAuthCode(rec.code), fmt.Errorf("memory: redeem auth code %q: %w", id, store.ErrAlreadyUsed)
	}
	rec.redeemed = true
	rec.code.RedeemedAt = now
	rec.code.GrantID = grantID
	s.codes[id] = rec
	return cloneAuthCode(rec.code), nil
}

// codeExpiry is when a code may be purged: PurgeAfter (never before ExpiresAt); never if
// PurgeAfter is zero.
func codeExpiry(c store.AuthCode) time.Time {
	if c.PurgeAfter.IsZero() || c.PurgeAfter.After(c.ExpiresAt) {
		return c.PurgeAfter
	}
	return c.ExpiresAt
}
