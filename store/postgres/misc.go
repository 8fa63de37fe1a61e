package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-dev/gatehouse/store"
)

// --- revocations ---

// AddRevocation implements store.Revocations. A new entry is one INSERT; an existing one
// is locked, merged in Go (the later At and ExpiresAt, to the nanosecond) and rewritten.
func (s *Store) AddRevocation(ctx context.Context, r store.Revocation) error {
	data, err := encode(r)
	if err == nil {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			changed, err := addRevocation(ctx, tx, r, data)
			if err != nil || !changed {
				return err
			}
			return s.notify(ctx, tx, store.TopicRevocations)
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: add revocation %s %q: %w", r.Kind, r.Subject, err)
	}
	return nil
}

// addRevocation inserts or merges the entry in tx and tells whether anything changed.
func addRevocation(ctx context.Context, tx pgx.Tx, r store.Revocation, data string) (bool, error) {
	for range staleAttempts {
		tag, err := tx.Exec(ctx, `INSERT INTO revocations (kind, subject, at, expires_at, data) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (kind, subject) DO NOTHING`, r.Kind, r.Subject, r.At, nullTime(r.ExpiresAt), data)
		if err != nil || tag.RowsAffected() == 1 {
			return err == nil, err
		}
		var old store.Revocation
		err = getJSON(ctx, tx, &old, `SELECT data FROM revocations WHERE kind = $1 AND subject = $2 FOR UPDATE`, r.Kind, r.Subject)
		if errors.Is(err, store.ErrNotFound) {
			continue // purged in between
		}
		if err != nil {
			return false, err
		}
		merged := r
		merged.At, merged.ExpiresAt = latest(old.At, r.At), latest(old.ExpiresAt, r.ExpiresAt)
		if merged.At.Equal(old.At) && merged.ExpiresAt.Equal(old.ExpiresAt) {
			return false, nil // nothing to change
		}
		md, err := encode(merged)
		if err != nil {
			return false, err
		}
		_, err = tx.Exec(ctx, `UPDATE revocations SET at = $3, expires_at = $4, data = $5 WHERE kind = $1 AND subject = $2`,
			r.Kind, r.Subject, merged.At, nullTime(merged.ExpiresAt), md)
		return err == nil, err
	}
	return false, errors.New("the entry changed under every attempt")
}

// ListRevocations implements store.Revocations, ordered by kind, then subject. The
// indexed columns hold microseconds, so the query over-selects by less than one and the
// exact comparison is made on the records.
func (s *Store) ListRevocations(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	var rows []store.Revocation
	err := s.retry(ctx, func() (err error) {
		rows, err = listJSON[store.Revocation](ctx, s.pool,
			`SELECT data FROM revocations WHERE at >= $1 AND expires_at >= $2 ORDER BY kind, subject`, since, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list revocations: %w", err)
	}
	out := rows[:0]
	for _, r := range rows {
		if !r.At.Before(since) && r.ExpiresAt.After(now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// --- signing keys ---

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return errors.New("postgres: create key: empty id")
	}
	data, err := encode(k)
	if err == nil {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, data) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, k.ID, data)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			return s.notify(ctx, tx, store.TopicKeys)
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create key %q: %w", k.ID, err)
	}
	return nil
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	var out []store.SigningKey
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.SigningKey](ctx, s.pool, `SELECT data FROM signing_keys ORDER BY id`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", err)
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateKey implements store.Keys.
func (s *Store) UpdateKey(ctx context.Context, id string, update func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	return updateRecord(s, ctx, "key", id, `SELECT data FROM signing_keys WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, _, k store.SigningKey) error {
			if k.ID != id {
				return errIDChanged
			}
			if err := writeJSON(ctx, tx, `UPDATE signing_keys SET data = $2 WHERE id = $1`, id, k); err != nil {
				return err
			}
			return s.notify(ctx, tx, store.TopicKeys)
		})
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return s.notify(ctx, tx, store.TopicKeys)
	})
	if err != nil {
		return fmt.Errorf("postgres: delete key %q: %w", id, err)
	}
	return nil
}

// --- clients ---

// CreateClient implements store.Clients.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return errors.New("postgres: create client: empty id")
	}
	if err := s.insertJSON(ctx, `INSERT INTO clients (id, data) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, c.ID, c); err != nil {
		return fmt.Errorf("postgres: create client %q: %w", c.ID, err)
	}
	return nil
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var c store.Client
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &c, `SELECT data FROM clients WHERE id = $1`, id) })
	if err != nil {
		return store.Client{}, fmt.Errorf("postgres: get client %q: %w", id, err)
	}
	return c, nil
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	return updateRecord(s, ctx, "client", id, `SELECT data FROM clients WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, _, c store.Client) error {
			if c.ID != id {
				return errIDChanged
			}
			return writeJSON(ctx, tx, `UPDATE clients SET data = $2 WHERE id = $1`, id, c)
		})
}

// DeleteClient implements store.Clients. Deleting a missing client is not an error.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := s.exec(ctx, `DELETE FROM clients WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: delete client %q: %w", id, err)
	}
	return nil
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context, opts store.ListOptions) ([]store.Client, error) {
	var out []store.Client
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Client](ctx, s.pool, `SELECT data FROM clients WHERE id > $1 ORDER BY id LIMIT $2`,
			opts.After, listLimit(opts.Limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	return out, nil
}

// --- counters ---

// counterSQL adds to a counter in one statement: the upsert takes the row lock, so
// concurrent increments (from any number of instances) queue and each adds to the value
// the previous one committed. A missing counter, or one whose window ended at or before
// now, restarts at delta with a window ending at now+window.
const counterSQL = `INSERT INTO counters AS c (key, value, window_end) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET
	value      = CASE WHEN c.window_end > $4 THEN c.value + excluded.value ELSE excluded.value END,
	window_end = CASE WHEN c.window_end > $4 THEN c.window_end ELSE excluded.window_end END
RETURNING value, window_end`

// IncrementCounter implements store.Counters. Window ends are kept to the microsecond.
func (s *Store) IncrementCounter(ctx context.Context, name string, delta int64, window time.Duration, now time.Time) (int64, time.Time, error) {
	var v int64
	var end time.Time
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, counterSQL, name, delta, now.Add(window), now).Scan(&v, &end)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: increment counter %q: %w", name, err)
	}
	return v, end, nil
}

// incrementCounters runs counterSQL for each of incs in tx, in ascending key order (so
// that two transactions with common keys cannot deadlock), and returns the new values in
// the order of incs.
func incrementCounters(ctx context.Context, tx pgx.Tx, incs []store.CounterIncrement, now time.Time) ([]store.CounterValue, error) {
	order := make([]int, len(incs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(incs[a].Key, incs[b].Key) })
	out := make([]store.CounterValue, len(incs))
	for _, i := range order {
		in := incs[i]
		if err := tx.QueryRow(ctx, counterSQL, in.Key, in.Delta, now.Add(in.Window), now).Scan(&out[i].Value, &out[i].WindowEnd); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetCounter implements store.Counters, with IncrementCounter's microsecond comparison.
func (s *Store) GetCounter(ctx context.Context, name string, now time.Time) (int64, time.Time, error) {
	var v int64
	var end time.Time
	err := s.retry(ctx, func() error {
		return notFound(s.pool.QueryRow(ctx, `SELECT value, window_end FROM counters WHERE key = $1`, name).Scan(&v, &end))
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !end.After(now.Truncate(time.Microsecond))) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: get counter %q: %w", name, err)
	}
	return v, end, nil
}

// ResetCounter implements store.Counters.
func (s *Store) ResetCounter(ctx context.Context, name string) error {
	if err := s.exec(ctx, `DELETE FROM counters WHERE key = $1`, name); err != nil {
		return fmt.Errorf("postgres: reset counter %q: %w", name, err)
	}
	return nil
}

// --- one-time codes ---

// CreateOneTimeCode implements store.OneTimeCodes.
func (s *Store) CreateOneTimeCode(ctx context.Context, c store.OneTimeCode) error {
	if c.ID == "" {
		return errors.New("postgres: create one-time code: empty id")
	}
	data, err := encode(c)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO one_time_codes (id, purpose, expires_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO NOTHING`, c.ID, c.Purpose, nullTime(c.ExpiresAt), data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create one-time code %q: %w", c.ID, err)
	}
	return nil
}

// CreateLatestOneTimeCode implements store.OneTimeCodes in one transaction: the code's
// INSERT, then the pointer's upsert.
func (s *Store) CreateLatestOneTimeCode(ctx context.Context, now time.Time, c, latest store.OneTimeCode, count ...store.CounterIncrement) ([]store.CounterValue, bool, error) {
	if c.ID == "" || latest.ID == "" || c.ID == latest.ID {
		return nil, false, errors.New("postgres: create one-time code: empty or equal ids")
	}
	if err := store.CheckCounterKeys(count); err != nil {
		return nil, false, fmt.Errorf("postgres: create one-time code %q: %w", c.ID, err)
	}
	var vs []store.CounterValue
	var created bool
	data, err := encode(c)
	var ldata string
	if err == nil {
		ldata, err = encode(latest)
	}
	if err == nil {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			var err error
			if vs, err = incrementCounters(ctx, tx, count, now); err != nil {
				return err
			}
			if created = store.WithinLimits(count, vs); !created {
				// Only the counters; a taken ID is still refused, with nothing stored.
				var taken bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM one_time_codes WHERE id = $1)`, c.ID).Scan(&taken); err != nil {
					return err
				}
				if taken {
					return fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
				}
				return nil
			}
			tag, err := tx.Exec(ctx, `INSERT INTO one_time_codes (id, purpose, expires_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO NOTHING`, c.ID, c.Purpose, nullTime(c.ExpiresAt), data)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			_, err = tx.Exec(ctx, `INSERT INTO one_time_codes (id, purpose, expires_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, expires_at = excluded.expires_at, data = excluded.data`,
				latest.ID, latest.Purpose, nullTime(latest.ExpiresAt), ldata)
			return err
		})
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: create one-time code %q: %w", c.ID, err)
	}
	return vs, created, nil
}

// GetOneTimeCode implements store.OneTimeCodes.
func (s *Store) GetOneTimeCode(ctx context.Context, id string) (store.OneTimeCode, error) {
	var c store.OneTimeCode
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &c, `SELECT data FROM one_time_codes WHERE id = $1`, id) })
	if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("postgres: get one-time code %q: %w", id, err)
	}
	return c, nil
}

// UpdateOneTimeCode implements store.OneTimeCodes (counting failed attempts): the row
// lock makes concurrent wrong guesses queue, each counted.
func (s *Store) UpdateOneTimeCode(ctx context.Context, id string, update func(store.OneTimeCode) (store.OneTimeCode, error)) (store.OneTimeCode, error) {
	return updateRecord(s, ctx, "one-time code", id, `SELECT data FROM one_time_codes WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, _, c store.OneTimeCode) error {
			if c.ID != id {
				return errIDChanged
			}
			data, err := encode(c)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE one_time_codes SET purpose = $2, expires_at = $3, data = $4 WHERE id = $1`,
				id, c.Purpose, nullTime(c.ExpiresAt), data)
			return err
		})
}

// ConsumeOneTimeCode implements store.OneTimeCodes with one DELETE ... RETURNING: of
// concurrent deletes of the row, the first takes the row lock and commits, and the others
// then find it gone (ErrNotFound).
func (s *Store) ConsumeOneTimeCode(ctx context.Context, id string) (store.OneTimeCode, error) {
	var c store.OneTimeCode
	err := s.retry(ctx, func() error {
		c = store.OneTimeCode{}
		return getJSON(ctx, s.pool, &c, `DELETE FROM one_time_codes WHERE id = $1 RETURNING data`, id)
	})
	if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("postgres: consume one-time code %q: %w", id, err)
	}
	return c, nil
}

// UseOneTimeCode implements store.OneTimeCodes in one transaction: the row lock (SELECT
// ... FOR UPDATE: concurrent uses queue, each counted), then a DELETE or an UPDATE.
func (s *Store) UseOneTimeCode(ctx context.Context, id string, decide func(store.OneTimeCode) bool) (store.OneTimeCode, bool, error) {
	var c store.OneTimeCode
	var consumed bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c = store.OneTimeCode{}
		if err := getJSON(ctx, tx, &c, `SELECT data FROM one_time_codes WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		c.Attempts++
		if consumed = decide(c); consumed {
			_, err := tx.Exec(ctx, `DELETE FROM one_time_codes WHERE id = $1`, id)
			return err
		}
		data, err := encode(c)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE one_time_codes SET data = $2 WHERE id = $1`, id, data)
		return err
	})
	if err != nil {
		return store.OneTimeCode{}, false, fmt.Errorf("postgres: use one-time code %q: %w", id, err)
	}
	return c, consumed, nil
}

// ListOneTimeCodes implements store.OneTimeCodes.
func (s *Store) ListOneTimeCodes(ctx context.Context, purpose string, opts store.ListOptions) ([]store.OneTimeCode, error) {
	var out []store.OneTimeCode
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.OneTimeCode](ctx, s.pool,
			`SELECT data FROM one_time_codes WHERE purpose = $1 AND id > $2 ORDER BY id LIMIT $3`, purpose, opts.After, listLimit(opts.Limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list one-time codes of purpose %q: %w", purpose, err)
	}
	return out, nil
}

// --- groups ---

// PutGroup implements store.Groups.
func (s *Store) PutGroup(ctx context.Context, g store.Group) error {
	if g.Name == "" {
		return errors.New("postgres: put group: empty name")
	}
	data, err := encode(g)
	if err == nil {
		err = s.exec(ctx, `INSERT INTO groups (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = excluded.data`, g.Name, data)
	}
	if err != nil {
		return fmt.Errorf("postgres: put group %q: %w", g.Name, err)
	}
	return nil
}

// GetGroup implements store.Groups.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	var g store.Group
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &g, `SELECT data FROM groups WHERE name = $1`, name) })
	if err != nil {
		return store.Group{}, fmt.Errorf("postgres: get group %q: %w", name, err)
	}
	return g, nil
}

// DeleteGroup implements store.Groups. Deleting a missing group is not an error.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := s.exec(ctx, `DELETE FROM groups WHERE name = $1`, name); err != nil {
		return fmt.Errorf("postgres: delete group %q: %w", name, err)
	}
	return nil
}

// UpdateGroup implements store.Groups: the record is locked (SELECT ... FOR UPDATE) for the
// transaction; a record another writer created meanwhile (there was none to lock) is
// ErrConflict.
func (s *Store) UpdateGroup(ctx context.Context, name string, update func(store.Group, bool) (*store.Group, error)) (store.Group, error) {
	if name == "" {
		return store.Group{}, errors.New("postgres: update group: empty name")
	}
	var out store.Group
	var cbErr error
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var old store.Group
		err := getJSON(ctx, tx, &old, `SELECT data FROM groups WHERE name = $1 FOR UPDATE`, name)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		nu, err := update(old, exists)
		if err != nil {
			cbErr = err
			return err
		}
		out = store.Group{}
		switch {
		case nu == nil && !exists:
			return nil
		case nu == nil:
			_, err := tx.Exec(ctx, `DELETE FROM groups WHERE name = $1`, name)
			return err
		case nu.Name != name:
			return errors.New("the name changed")
		}
		data, err := encode(*nu)
		if err != nil {
			return err
		}
		if exists {
			_, err = tx.Exec(ctx, `UPDATE groups SET data = $2 WHERE name = $1`, name, data)
		} else {
			var tag pgconn.CommandTag
			tag, err = tx.Exec(ctx, `INSERT INTO groups (name, data) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("created meanwhile: %w", store.ErrConflict)
			}
		}
		if err == nil {
			out = *nu
		}
		return err
	})
	if cbErr != nil {
		return store.Group{}, cbErr
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("postgres: update group %q: %w", name, err)
	}
	return out, nil
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context, opts store.ListOptions) ([]store.Group, error) {
	var out []store.Group
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Group](ctx, s.pool, `SELECT data FROM groups WHERE name > $1 ORDER BY name LIMIT $2`,
			opts.After, listLimit(opts.Limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list groups: %w", err)
	}
	return out, nil
}

// --- helpers ---

// exec runs one statement, retried as retry does.
func (s *Store) exec(ctx context.Context, sql string, args ...any) error {
	return s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, sql, args...)
		return err
	})
}

// insertJSON runs an INSERT ... ON CONFLICT DO NOTHING of (id, v as json), failing with
// ErrAlreadyExists when the ID is taken.
func (s *Store) insertJSON(ctx context.Context, sql, id string, v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	return s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, sql, id, data)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
		}
		return err
	})
}

// writeJSON runs an UPDATE of (id, v as json) in tx.
func writeJSON(ctx context.Context, tx pgx.Tx, sql, id string, v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sql, id, data)
	return err
}
