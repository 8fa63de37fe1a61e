package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-dev/gatehouse/store"
)

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
	_ store.Locker   = (*Store)(nil)
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("store is closed")

// Options configure Open.
type Options struct {
	// DSN is the PostgreSQL connection string, as a URL
	// (postgres://gatehouse:secret@db.example.com:5432/gatehouse?sslmode=verify-full) or in
	// keyword/value form (host=db.example.com dbname=gatehouse sslmode=verify-full). Every
	// libpq setting pgx understands applies: sslmode, sslrootcert, sslcert, sslkey,
	// connect_timeout, target_session_attrs, several hosts for failover, and the pool's
	// pool_max_conns, pool_min_conns, pool_max_conn_lifetime, pool_max_conn_idle_time;
	// other parameters (statement_timeout, search_path, application_name ...) are sent to
	// the server as run-time settings. Required.
	DSN string
	// Schema, if set, is the PostgreSQL schema that holds Gatehouse's tables: Open creates
	// it if missing and makes it the connections' search_path. Empty: the DSN's
	// search_path (by default the schema "public", or one named like the user).
	Schema string
	// MaxConns caps the connection pool. Zero: the DSN's pool_max_conns, else
	// DefaultMaxConns.
	MaxConns int32
	// StatementTimeout cancels any statement that runs longer, so that a stuck query
	// fails a request instead of holding a connection. Zero: the DSN's
	// statement_timeout, else DefaultStatementTimeout.
	StatementTimeout time.Duration
	// SkipMigrations makes Open refuse a database with pending migrations instead of
	// applying them (for operators who run `gatehouse store migrate` themselves).
	SkipMigrations bool
	// MigrationLockTimeout bounds the wait for another instance's migrations (default
	// 5 minutes).
	MigrationLockTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxConns         = 10
	DefaultStatementTimeout = 10 * time.Second
	// idleInTransactionTimeout ends a session whose transaction was left open (a bug or
	// a dead client), releasing its locks.
	idleInTransactionTimeout = time.Minute
)

const (
	// maxAttempts bounds the retries of a transaction that failed on a serialization
	// failure or a deadlock.
	maxAttempts = 20
	// batchSize bounds the rows changed by one statement of a bulk operation
	// (DeleteUserSessions, Revoke*Families, GarbageCollect).
	batchSize = 500
)

// Store is a store.Store on PostgreSQL. Its methods are safe for concurrent use, from any
// number of processes sharing the database.
type Store struct {
	pool   *pgxpool.Pool
	target string
	closed atomic.Bool
	// conn configures the listener's dedicated connection (notify.go).
	conn *pgx.ConnConfig
	// channel is the LISTEN/NOTIFY channel of the store's schema.
	channel string
}

// Open connects to the database described by opts, applies the pending schema migrations
// (under an advisory lock, so that instances starting together migrate once) and returns
// the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := poolConfig(opts)
	if err != nil {
		return nil, err
	}
	target := describe(cfg.ConnConfig)
	if opts.SkipMigrations {
		pending, err := pendingWith(ctx, cfg.ConnConfig)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", target, err)
		}
		if len(pending) > 0 {
			return nil, fmt.Errorf("postgres: %s: %d schema migrations are pending (first: %s): run `gatehouse store migrate`",
				target, len(pending), pending[0].Name)
		}
	} else if _, err := migrateWith(ctx, cfg.ConnConfig, opts.Schema, opts.MigrationLockTimeout); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", target, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", target, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %s: %w", target, err)
	}
	return &Store{pool: pool, target: target, conn: cfg.ConnConfig.Copy(), channel: channelName(opts.Schema)}, nil
}

// poolConfig parses the DSN and applies opts and the defaults.
func poolConfig(opts Options) (*pgxpool.Config, error) {
	if opts.DSN == "" {
		return nil, errors.New("postgres: open: no dsn given")
	}
	// pgx redacts the password in its parse errors.
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(opts.DSN, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	params := cfg.ConnConfig.RuntimeParams
	if opts.StatementTimeout > 0 {
		params["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	} else if _, ok := params["statement_timeout"]; !ok {
		params["statement_timeout"] = strconv.FormatInt(DefaultStatementTimeout.Milliseconds(), 10)
	}
	if _, ok := params["idle_in_transaction_session_timeout"]; !ok {
		params["idle_in_transaction_session_timeout"] = strconv.FormatInt(idleInTransactionTimeout.Milliseconds(), 10)
	}
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "gatehouse"
	}
	if opts.Schema != "" {
		params["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	// Durability: a commit returns once its WAL is flushed. Refuse to run otherwise.
	if v, ok := params["synchronous_commit"]; ok && (v == "off" || v == "false" || v == "0") {
		return nil, errors.New("postgres: synchronous_commit=off would let acknowledged security writes (code redemptions, refresh rotations, revocations) be lost in a crash")
	}
	return cfg, nil
}

// Target describes the database of a DSN for logs and messages: user@host:port/database,
// never the password. It returns "" for a DSN that does not parse.
func Target(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	return describe(cfg)
}

func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Target returns user@host:port/database of the store's database (no password).
func (s *Store) Target() string { return s.target }

// Close closes the connection pool. It is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.pool.Close()
	}
	return nil
}

// Ping checks that the database answers (for readiness checks).
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.pool.Ping(ctx)
}

// --- statements and transactions ---

// db is what the statement helpers run on: the pool or a transaction.
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// retry runs fn (one statement, or a statement and its follow-up reads) until it does not
// fail on a serialization failure or a deadlock, at most maxAttempts times, then fails with
// store.ErrConflict. It returns ErrClosed after Close.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		if s.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := fn()
		if !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("%w after %d attempts: %w", store.ErrConflict, attempt, err)
		}
		// Back off a little, with jitter, so that the conflicting writers spread out.
		time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(200*time.Microsecond))))
	}
}

// tx runs fn in a READ COMMITTED transaction and commits it (durably), retrying as retry
// does. fn must not have side effects: it may run more than once. An error from fn rolls
// the transaction back and is returned as it is.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

// retryable tells whether err is a serialization failure or a deadlock, after which the
// transaction can run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pgCode returns the SQLSTATE of err ("" if it is not a server error) and the constraint
// it names.
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// Unique-constraint names and the fields they guard, for ErrAlreadyExists messages.
var constraintFields = map[string]string{
	"users_email_key":       "email",
	"users_external_id_key": "external user id",
	"users_phone_key":       "phone number",
}

// uniqueErr turns a unique violation into store.ErrAlreadyExists naming the field, and a
// foreign-key violation (a missing user) into store.ErrNotFound; other errors are returned
// as they are.
func uniqueErr(err error) error {
	switch code, constraint := pgCode(err); code {
	case "23505":
		field, ok := constraintFields[constraint]
		if !ok {
			field = "id"
		}
		return fmt.Errorf("%s taken: %w", field, store.ErrAlreadyExists)
	case "23503":
		return fmt.Errorf("user: %w", store.ErrNotFound)
	}
	return err
}

// notFound turns pgx.ErrNoRows into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// --- encoding ---

// encode returns v's JSON as a string (a string parameter suits a json column under every
// pgx query mode, including the simple protocol behind a transaction-pooling proxy).
func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

// decode unmarshals a json column into v.
func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// getJSON reads the one json value a query returns into v; no row is store.ErrNotFound.
func getJSON(ctx context.Context, q db, v any, sql string, args ...any) error {
	var data []byte
	if err := q.QueryRow(ctx, sql, args...).Scan(&data); err != nil {
		return notFound(err)
	}
	return decode(data, v)
}

// listJSON decodes the json value of every row a query returns.
func listJSON[T any](ctx context.Context, q db, sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var v T
		if err := decode(data, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// listLimit applies store.ListOptions' limit rules.
func listLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// nullString maps "" to NULL (unique columns hold NULL for an empty value).
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullTime maps the zero time ("no expiry") to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// earliest returns the earlier of the non-zero times (zero if both are zero).
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero(), a.Before(b):
		return a
	}
	return b
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// errIDChanged is returned by the Update* methods when the callback changed the ID.
var errIDChanged = errors.New("the update changed the id")

// updateRecord is the body of the Update* methods: in one transaction it locks and reads
// the record (selectSQL returns its json with FOR UPDATE), applies update, and hands old
// and new to write, which checks and stores the result. The row lock makes concurrent
// updates of one record queue up, each seeing the previous one's result. An error from
// update is returned as it is, unwrapped, and nothing is written; other errors are
// wrapped as "postgres: update <what> <id>: ...".
func updateRecord[T any](s *Store, ctx context.Context, what, id, selectSQL string, args []any, update func(T) (T, error), write func(tx pgx.Tx, old, new T) error) (T, error) {
	var out, zero T
	var cbErr error
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var old T
		if err := getJSON(ctx, tx, &old, selectSQL, args...); err != nil {
			return err
		}
		nu, err := update(old)
		if err != nil {
			cbErr = err
			return err
		}
		if err := write(tx, old, nu); err != nil {
			return err
		}
		out = nu
		return nil
	})
	if cbErr != nil {
		return zero, cbErr
	}
	if err != nil {
		return zero, fmt.Errorf("postgres: update %s %q: %w", what, id, err)
	}
	return out, nil
}
