package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/store"
)

// --- audit events ---

// AppendAuditEvent implements store.AuditEvents.
func (s *Store) AppendAuditEvent(ctx context.Context, e store.AuditEvent) error {
	if err := store.CheckAuditEvent(e); err != nil {
		return fmt.Errorf("postgres: append audit event: %w", err)
	}
	data, err := encode(e)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO audit_events (id, type, actor, user_id, expires_at, data)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Type, e.Actor, e.UserID, nullTime(e.ExpiresAt), data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: append audit event: %w", err)
	}
	return nil
}

// ListAuditEvents implements store.AuditEvents. The time range is an id range (ids start
// with the event's time in nanoseconds), so it is exact where a timestamptz column would
// round to microseconds.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	arg("id > ?", f.After)
	if !f.Since.IsZero() {
		arg("id > ?", store.AuditEventIDPrefix(f.Since))
	}
	if !f.Until.IsZero() {
		arg("id < ?", store.AuditEventIDPrefix(f.Until))
	}
	if f.UserID != "" {
		arg("user_id = ?", f.UserID)
	}
	if f.Actor != "" {
		arg("actor = ?", f.Actor)
	}
	if f.Type != "" {
		arg("type = ?", f.Type)
	}
	args = append(args, listLimit(f.Limit))
	sql := `SELECT data FROM audit_events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id LIMIT $` + strconv.Itoa(len(args))
	var out []store.AuditEvent
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.AuditEvent](ctx, s.pool, sql, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", err)
	}
	return out, nil
}
