package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// codeRecord is the stored form of an authorization code. Redeemed is the authoritative
// "used" flag, so that a redemption is recorded even if the caller passed a zero time or
// an empty grant ID.
type codeRecord struct {
	store.AuthCode
	Redeemed bool `json:"redeemed,omitempty"`
}

// codeExpiry is the TTL of a code: PurgeAfter (never before ExpiresAt); none if zero.
func codeExpiry(c store.AuthCode) time.Time {
	if c.PurgeAfter.IsZero() {
		return time.Time{}
	}
	return latest(c.PurgeAfter, c.ExpiresAt)
}

// CreateAuthCode implements store.AuthCodes.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if c.ID == "" {
		return errors.New("badger: create auth code: empty id")
	}
	ck := key(pCode, c.ID)
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, ck); err != nil || ok {
			return existsErr(ok, err, "id")
		}
		return put(txn, ck, codeRecord{AuthCode: c, Redeemed: !c.RedeemedAt.IsZero()}, codeExpiry(c))
	})
	if err != nil {
		return fmt.Errorf("badger: create auth code %q: %w", c.ID, err)
	}
	return nil
}

// RedeemAuthCode implements store.AuthCodes.
func (s *Store) RedeemAuthCode(ctx context.Context, id, grantID string, now time.Time) (store.AuthCode, error) {
	ck := key(pCode, id)
	defer s.lockKey(ck)()
	var out store.AuthCode
	err := s.update(ctx, func(txn *badger.Txn) error {
		var rec codeRecord
		if err := get(txn, ck, &rec); err != nil {
			return err
		}
		out = rec.AuthCode
		if rec.Redeemed {
			return store.ErrAlreadyUsed
		}
		rec.Redeemed = true
		rec.RedeemedAt = now
		rec.GrantID = grantID
		out = rec.AuthCode
		return put(txn, ck, rec, codeExpiry(rec.AuthCode))
	})
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		return out, fmt.Errorf("badger: redeem auth code %q: %w", id, err)
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("badger: redeem auth code %q: %w", id, err)
	}
	return out, nil
}
