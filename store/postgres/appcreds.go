package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// --- app credentials ---

// CreateAppCredential implements store.AppCredentials. Like Badger, it does not check that the user
// exists; DeleteUser removes the user's app credentials.
func (s *Store) CreateAppCredential(ctx context.Context, p store.AppCredential) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("postgres: create app credential: empty id or user")
	}
	data, err := encode(p)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO app_credentials (id, user_id, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				p.ID, p.UserID, data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create app credential: %w", err)
	}
	return nil
}

// GetAppCredential implements store.AppCredentials.
func (s *Store) GetAppCredential(ctx context.Context, id string) (store.AppCredential, error) {
	var p store.AppCredential
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &p, `SELECT data FROM app_credentials WHERE id = $1`, id) })
	if err != nil {
		return store.AppCredential{}, fmt.Errorf("postgres: get app credential: %w", err)
	}
	return p, nil
}

// ListUserAppCredentials implements store.AppCredentials.
func (s *Store) ListUserAppCredentials(ctx context.Context, userID string) ([]store.AppCredential, error) {
	var out []store.AppCredential
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.AppCredential](ctx, s.pool, `SELECT data FROM app_credentials WHERE user_id = $1 ORDER BY id`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list app credentials of user %q: %w", userID, err)
	}
	return out, nil
}

// UpdateAppCredential implements store.AppCredentials.
func (s *Store) UpdateAppCredential(ctx context.Context, id string, update func(store.AppCredential) (store.AppCredential, error)) (store.AppCredential, error) {
	return updateRecord(s, ctx, "app credential", id, `SELECT data FROM app_credentials WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, old, p store.AppCredential) error {
			if p.ID != id || p.UserID != old.UserID {
				return errIDChanged
			}
			data, err := encode(p)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE app_credentials SET data = $2 WHERE id = $1`, id, data)
			return err
		})
}

// DeleteAppCredential implements store.AppCredentials. Deleting a missing app credential is not an error.
func (s *Store) DeleteAppCredential(ctx context.Context, id string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM app_credentials WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete app credential: %w", err)
	}
	return nil
}
