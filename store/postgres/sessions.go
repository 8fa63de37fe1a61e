package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// sessionExpiry is the purge time of a session: the earlier of its non-zero idle and
// absolute expiries (as in Badger, a zero expiry means "none").
func sessionExpiry(se store.Session) time.Time {
	return earliest(se.IdleExpiresAt, se.AbsoluteExpiresAt)
}

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	if se.ID == "" {
		return errors.New("postgres: create session: empty id")
	}
	data, err := encode(se)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO sessions (id, user_id, expires_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO NOTHING`, se.ID, se.UserID, nullTime(sessionExpiry(se)), data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create session %q: %w", se.ID, err)
	}
	return nil
}

// StartSession implements store.Sessions in one transaction (one commit): the user's row
// lock and update, then the session's INSERT.
func (s *Store) StartSession(ctx context.Context, se store.Session, update func(store.User) (store.User, error)) (store.User, error) {
	if se.ID == "" {
		return store.User{}, errors.New("postgres: start session: empty id")
	}
	data, err := encode(se)
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: start session %q: %w", se.ID, err)
	}
	return updateRecord(s, ctx, "user", se.UserID, `SELECT data FROM users WHERE id = $1 FOR UPDATE`, []any{se.UserID}, update,
		func(tx pgx.Tx, old, u store.User) error {
			if err := s.writeUser(ctx, tx, se.UserID, old, u); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, expires_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO NOTHING`, se.ID, se.UserID, nullTime(sessionExpiry(se)), data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("session id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var se store.Session
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &se, `SELECT data FROM sessions WHERE id = $1`, id) })
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: get session %q: %w", id, err)
	}
	return se, nil
}

// UpdateSession implements store.Sessions. The purge time follows the updated expiry.
func (s *Store) UpdateSession(ctx context.Context, id string, update func(store.Session) (store.Session, error)) (store.Session, error) {
	return updateRecord(s, ctx, "session", id, `SELECT data FROM sessions WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, _, se store.Session) error {
			if se.ID != id {
				return errIDChanged
			}
			data, err := encode(se)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE sessions SET user_id = $2, expires_at = $3, data = $4 WHERE id = $1`,
				id, se.UserID, nullTime(sessionExpiry(se)), data)
			return err
		})
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete session %q: %w", id, err)
	}
	return nil
}

// ListUserSessions implements store.Sessions. Sessions are ordered by ID. Expired
// sessions not yet purged are listed (callers check expiry).
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	var out []store.Session
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Session](ctx, s.pool, `SELECT data FROM sessions WHERE user_id = $1 ORDER BY id`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions of user %q: %w", userID, err)
	}
	return out, nil
}

// DeleteUserSessions implements store.Sessions. The sessions are deleted batchSize per
// statement, until one finds none left; each batch is durable when the next starts.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) ([]string, error) {
	var deleted []string
	for {
		var batch []string
		err := s.retry(ctx, func() error {
			rows, err := s.pool.Query(ctx, `DELETE FROM sessions WHERE id IN (
				SELECT id FROM sessions WHERE user_id = $1 ORDER BY id LIMIT $2) RETURNING id`, userID, batchSize)
			if err != nil {
				return err
			}
			batch, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("postgres: delete sessions of user %q: %w", userID, err)
		}
		if len(batch) == 0 {
			return deleted, nil
		}
		deleted = append(deleted, batch...)
	}
}
