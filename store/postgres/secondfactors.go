package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateSecondFactor implements store.SecondFactors. The foreign key on the user refuses a
// missing user (and makes a concurrent DeleteUser wait for this write or fail it).
func (s *Store) CreateSecondFactor(ctx context.Context, f store.SecondFactor) error {
	if f.UserID == "" {
		return errors.New("postgres: create second factor: empty user")
	}
	data, err := encode(f)
	if err == nil {
		err = s.retry(ctx, func() error {
			_, err := s.pool.Exec(ctx, `INSERT INTO second_factors (user_id, data) VALUES ($1, $2)`, f.UserID, data)
			return uniqueErr(err)
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create second factor of user %q: %w", f.UserID, err)
	}
	return nil
}

// GetSecondFactor implements store.SecondFactors.
func (s *Store) GetSecondFactor(ctx context.Context, userID string) (store.SecondFactor, error) {
	var f store.SecondFactor
	err := s.retry(ctx, func() error {
		return getJSON(ctx, s.pool, &f, `SELECT data FROM second_factors WHERE user_id = $1`, userID)
	})
	if err != nil {
		return store.SecondFactor{}, fmt.Errorf("postgres: get second factor of user %q: %w", userID, err)
	}
	return f, nil
}

// UpdateSecondFactor implements store.SecondFactors (SELECT ... FOR UPDATE: concurrent
// updates run one after the other, each on the record the previous one wrote).
func (s *Store) UpdateSecondFactor(ctx context.Context, userID string, update func(store.SecondFactor) (store.SecondFactor, error)) (store.SecondFactor, error) {
	return updateRecord(s, ctx, "second factor", userID, `SELECT data FROM second_factors WHERE user_id = $1 FOR UPDATE`, []any{userID}, update,
		func(tx pgx.Tx, _, f store.SecondFactor) error {
			if f.UserID != userID {
				return errIDChanged
			}
			data, err := encode(f)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE second_factors SET data = $2 WHERE user_id = $1`, userID, data)
			return err
		})
}

// DeleteSecondFactor implements store.SecondFactors. Deleting a missing record is not an
// error.
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM second_factors WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete second factor of user %q: %w", userID, err)
	}
	return nil
}
