package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/jackc/pgx/v5"
)

// --- audit events ---

// AppendAuditEvents implements store.AuditEvents.
func (s *Store) AppendAuditEvents(ctx context.Context, events ...store.AuditEvent) error {
	n := len(events)
	ids, types, actors, users := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	expires, data := make([]*time.Time, n), make([]string, n)
	for i, e := range events {
		if err := store.CheckAuditEvent(e); err != nil {
			return fmt.Errorf("postgres: append audit events: %w", err)
		}
		d, err := encode(e)
		if err != nil {
			return fmt.Errorf("postgres: append audit events: %w", err)
		}
		ids[i], types[i], actors[i], users[i], expires[i], data[i] = e.ID, e.Type, e.Actor, e.UserID, nullTime(e.ExpiresAt), d
	}
	// One statement, one commit for the whole batch; a taken (or repeated) ID makes it
	// insert fewer rows than given, and then the transaction rolls back: all or none.
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO audit_events (id, type, actor, user_id, expires_at, data)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::json[])
			ON CONFLICT (id) DO NOTHING`, ids, types, actors, users, expires, data)
		if err == nil && tag.RowsAffected() != int64(n) {
			err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: append audit events: %w", err)
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
