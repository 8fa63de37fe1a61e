package postgres

import (
	"context"
	"fmt"
	"time"
)

// purges are the expired-row deletions of GarbageCollect, in order: tokens before their
// families (a token must never outlive its family, whose absence reads as revoked), and
// each one a batch of at most $2 rows that PostgreSQL finds through the expiry index.
// SKIP LOCKED leaves rows that live traffic (or another instance's purge) holds locked to
// a later run, so a purge never waits on a lock, and no statement holds locks for long.
var purges = []struct{ table, sql string }{
	{"sessions", `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"auth_codes", `DELETE FROM auth_codes WHERE id IN (
		SELECT id FROM auth_codes WHERE purge_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"refresh_tokens", `DELETE FROM refresh_tokens WHERE id IN (
		SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"refresh_families", `DELETE FROM refresh_families WHERE id IN (
		SELECT id FROM refresh_families WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"revocations", `DELETE FROM revocations WHERE (kind, subject) IN (
		SELECT kind, subject FROM revocations WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"counters", `DELETE FROM counters WHERE key IN (
		SELECT key FROM counters WHERE window_end < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"one_time_codes", `DELETE FROM one_time_codes WHERE id IN (
		SELECT id FROM one_time_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
	{"audit_events", `DELETE FROM audit_events WHERE id IN (
		SELECT id FROM audit_events WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
}

// gcBatchesPerTable bounds the batches one GarbageCollect deletes per table, so that one
// run ends in bounded time even behind a large backlog; the next run continues.
const gcBatchesPerTable = 200

// GarbageCollect deletes the records whose expiry (see doc.go, "Expiry") is before now,
// in batches of batchSize rows, each its own short transaction, and returns how many rows
// it deleted per table. Callers pass the wall clock; Badger's TTLs do the same job.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time) (map[string]int64, error) {
	deleted := map[string]int64{}
	for _, p := range purges {
		for range gcBatchesPerTable {
			var n int64
			err := s.retry(ctx, func() error {
				tag, err := s.pool.Exec(ctx, p.sql, now, batchSize)
				n = tag.RowsAffected()
				return err
			})
			if err != nil {
				return deleted, fmt.Errorf("postgres: purge expired %s: %w", p.table, err)
			}
			deleted[p.table] += n
			if n < batchSize {
				break
			}
		}
	}
	return deleted, nil
}

// RunPurge calls GarbageCollect with the wall clock every interval (5 minutes if interval
// is not positive) until ctx is done or the store is closed, passing each run's outcome to
// report (which may be nil). Callers start it in a goroutine.
func (s *Store) RunPurge(ctx context.Context, interval time.Duration, report func(deleted map[string]int64, err error)) {
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if s.closed.Load() {
			return
		}
		deleted, err := s.GarbageCollect(ctx, time.Now())
		if report != nil && ctx.Err() == nil {
			report(deleted, err)
		}
	}
}
