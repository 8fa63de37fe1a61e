package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// --- settings ---

// GetSetting implements store.Settings.
func (s *Store) GetSetting(ctx context.Context, key string) (store.Setting, error) {
	var v store.Setting
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &v, `SELECT data FROM settings WHERE key = $1`, key) })
	if err != nil {
		return store.Setting{}, fmt.Errorf("postgres: get setting %q: %w", key, err)
	}
	return v, nil
}

// ListSettings implements store.Settings.
func (s *Store) ListSettings(ctx context.Context, opts store.ListOptions) ([]store.Setting, error) {
	var out []store.Setting
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Setting](ctx, s.pool, `SELECT data FROM settings WHERE key > $1 ORDER BY key LIMIT $2`,
			opts.After, listLimit(opts.Limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list settings: %w", err)
	}
	return out, nil
}

// PutSetting implements store.Settings. The version check is the write's own condition
// (an INSERT that does nothing on a taken key, an UPDATE guarded by the expected version),
// so of concurrent writers of one version exactly one changes a row; it notifies
// store.TopicSettings in the same transaction.
func (s *Store) PutSetting(ctx context.Context, rec store.Setting, expected int64) (store.Setting, error) {
	if rec.Key == "" {
		return store.Setting{}, errors.New("postgres: put setting: empty key")
	}
	rec.Version = expected + 1
	data, err := encode(rec)
	if err == nil {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			var sql string
			args := []any{rec.Key, rec.Version, data}
			if expected == 0 {
				sql = `INSERT INTO settings (key, version, data) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`
			} else {
				sql = `UPDATE settings SET version = $2, data = $3 WHERE key = $1 AND version = $4`
				args = append(args, expected)
			}
			tag, err := tx.Exec(ctx, sql, args...)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("expected version %d: %w", expected, store.ErrVersionMismatch)
			}
			return s.notify(ctx, tx, store.TopicSettings)
		})
	}
	if err != nil {
		return store.Setting{}, fmt.Errorf("postgres: put setting %q: %w", rec.Key, err)
	}
	return rec, nil
}

// DeleteSetting implements store.Settings.
func (s *Store) DeleteSetting(ctx context.Context, key string, expected int64) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM settings WHERE key = $1 AND version = $2`, key, expected)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var v int64
			if err := tx.QueryRow(ctx, `SELECT version FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
				return notFound(err)
			}
			return fmt.Errorf("stored version %d, expected %d: %w", v, expected, store.ErrVersionMismatch)
		}
		return s.notify(ctx, tx, store.TopicSettings)
	})
	if err != nil {
		return fmt.Errorf("postgres: delete setting %q: %w", key, err)
	}
	return nil
}
