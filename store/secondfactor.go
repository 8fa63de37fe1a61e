package store

import (
	"context"
	"time"
)

// SecondFactor is a user's authenticator app (TOTP, RFC 6238) and recovery codes: at most
// one record per user, removed with the user.
type SecondFactor struct {
	UserID string `json:"user_id"`
	// TOTPSecret is the authenticator app's shared secret, sealed by the caller (the server
	// must read it back to verify a code, so it cannot be hashed); "" means no app.
	TOTPSecret string `json:"totp_secret,omitempty"`
	// TOTPAddedAt is when the app was confirmed with its first code.
	TOTPAddedAt time.Time `json:"totp_added_at,omitzero"`
	// TOTPLastStep is the time step (RFC 6238 T) of the last code accepted: a code of this
	// step or an earlier one is never accepted again.
	TOTPLastStep int64 `json:"totp_last_step,omitempty"`
	// RecoveryCodes are the hashes of the recovery codes not used yet.
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	// RecoveryCreatedAt is when the current set of recovery codes was made.
	RecoveryCreatedAt time.Time `json:"recovery_created_at,omitzero"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// SecondFactors stores each user's authenticator app and recovery codes.
type SecondFactors interface {
	// CreateSecondFactor stores the user's record: ErrNotFound if the user does not exist,
	// ErrAlreadyExists if the user has one.
	CreateSecondFactor(ctx context.Context, f SecondFactor) error
	// GetSecondFactor returns the user's record (ErrNotFound if none).
	GetSecondFactor(ctx context.Context, userID string) (SecondFactor, error)
	// UpdateSecondFactor applies update atomically (see UpdateUser); the UserID cannot
	// change. Two concurrent updates never both succeed on the same old record, which makes
	// a code's step and a recovery code single-use.
	UpdateSecondFactor(ctx context.Context, userID string, update func(SecondFactor) (SecondFactor, error)) (SecondFactor, error)
	// DeleteSecondFactor removes the user's record; deleting a missing one is not an error.
	DeleteSecondFactor(ctx context.Context, userID string) error
}
