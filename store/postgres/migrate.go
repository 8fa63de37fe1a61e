package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema migrations, NNNN_name.sql, applied in version order.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned change of the schema.
type Migration struct {
	// Version orders the migrations (the file's number).
	Version int
	// Name is the file name without .sql ("0001_init").
	Name string
	// SQL is the file's content, run in one transaction.
	SQL string
}

// checksum identifies the migration's text: a migration changed after it was applied is
// refused at start.
func (m Migration) checksum() string {
	sum := sha256.Sum256([]byte(m.SQL))
	return hex.EncodeToString(sum[:])
}

// Migrations returns every migration embedded in the binary, in order.
func Migrations() []Migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded
	}
	var out []Migration
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			panic(fmt.Sprintf("postgres: migration %q is not named NNNN_name.sql", e.Name()))
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out
}

// migrationsTable records the applied migrations.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// Pending returns the migrations the database described by opts lacks, without changing
// anything (`gatehouse store migrate --dry-run`).
func Pending(ctx context.Context, opts Options) ([]Migration, error) {
	cfg, err := poolConfig(opts)
	if err != nil {
		return nil, err
	}
	out, err := pendingWith(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", describe(cfg.ConnConfig), err)
	}
	return out, nil
}

// Migrate applies the pending migrations to the database described by opts (creating
// opts.Schema if set and missing) and returns those it applied (also when a later one
// failed). Open does the same; an
// instance that finds another migrating waits for it, then finds nothing left to do.
func Migrate(ctx context.Context, opts Options) ([]Migration, error) {
	cfg, err := poolConfig(opts)
	if err != nil {
		return nil, err
	}
	out, err := migrateWith(ctx, cfg.ConnConfig, opts.Schema, opts.MigrationLockTimeout)
	if err != nil {
		return out, fmt.Errorf("postgres: %s: %w", describe(cfg.ConnConfig), err)
	}
	return out, nil
}

// connect opens a single connection outside the pool, without a statement timeout (a
// migration on a large table, or the wait for another instance's, may be long).
func connect(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	cfg = cfg.Copy()
	cfg.RuntimeParams["statement_timeout"] = "0"
	return pgx.ConnectConfig(ctx, cfg)
}

// lockTimeout returns d, or 5 minutes if d is not positive.
func lockTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Minute
	}
	return d
}

// withMigrationLock runs fn on a connection holding the session advisory lock of the
// schema's migrations. The lock is keyed by database and schema, so tests migrating
// schemas of their own do not wait for each other; it is released when fn returns, or by
// the server if the process dies.
func withMigrationLock(ctx context.Context, conn *pgx.Conn, schema string, wait time.Duration, fn func() error) error {
	lockCtx, cancel := context.WithTimeout(ctx, lockTimeout(wait))
	defer cancel()
	key := "gatehouse.migrate:" + schema
	if _, err := conn.Exec(lockCtx, `SELECT pg_advisory_lock(hashtext(current_database() || '/' || $1))`, key); err != nil {
		if lockCtx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting %v for another instance's schema migrations: %w", lockTimeout(wait), err)
		}
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer func() {
		// A failed unlock leaves the lock to the connection's Close.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext(current_database() || '/' || $1))`, key)
	}()
	return fn()
}

// applied returns the checksums of the applied migrations by version; an absent
// schema_migrations table means none.
func applied(ctx context.Context, conn *pgx.Conn) (map[int]string, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	out := map[int]string{}
	if !exists {
		return out, nil
	}
	rows, err := conn.Query(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		out[v] = sum
	}
	return out, rows.Err()
}

// pendingOf compares the embedded migrations with the applied ones: it returns those not
// applied, and fails if an applied one was changed since.
func pendingOf(done map[int]string) ([]Migration, error) {
	var out []Migration
	for _, m := range Migrations() {
		sum, ok := done[m.Version]
		switch {
		case !ok:
			out = append(out, m)
		case sum != m.checksum():
			return nil, fmt.Errorf("migration %s was changed after it was applied (checksum %s, now %s)", m.Name, sum, m.checksum())
		}
	}
	// Versions applied by a newer binary are fine: migrations only add, so an older
	// instance keeps working during a rolling upgrade.
	return out, nil
}

func pendingWith(ctx context.Context, cfg *pgx.ConnConfig) ([]Migration, error) {
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	done, err := applied(ctx, conn)
	if err != nil {
		return nil, err
	}
	return pendingOf(done)
}

// migrateWith applies the pending migrations on one connection holding the migration
// lock: it creates schema first if given, then applies each migration in its own
// transaction together with its schema_migrations row, and returns those it applied.
func migrateWith(ctx context.Context, cfg *pgx.ConnConfig, schema string, wait time.Duration) ([]Migration, error) {
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if schema == "" {
		var current *string
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
			return nil, fmt.Errorf("current schema: %w", err)
		}
		if current == nil {
			return nil, errors.New("no schema of the search_path exists: create one, or set the schema option")
		}
		schema = *current
	}
	var done []Migration
	err = withMigrationLock(ctx, conn, schema, wait, func() error {
		// Two concurrent CREATE SCHEMA IF NOT EXISTS can collide: this one runs under the
		// lock. The search_path is set again now that the schema exists.
		ident := pgx.Identifier{schema}.Sanitize()
		if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident+"; SET search_path TO "+ident); err != nil {
			return fmt.Errorf("create schema %q: %w", schema, err)
		}
		if _, err := conn.Exec(ctx, migrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		have, err := applied(ctx, conn)
		if err != nil {
			return err
		}
		pending, err := pendingOf(have)
		if err != nil {
			return err
		}
		for _, m := range pending {
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
					m.Version, m.Name, m.checksum())
				return err
			})
			if err != nil {
				return fmt.Errorf("apply migration %s: %w", m.Name, err)
			}
			done = append(done, m)
		}
		return nil
	})
	return done, err
}
