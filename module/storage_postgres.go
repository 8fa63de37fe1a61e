package module

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
)

func init() {
	caddy.RegisterModule(PostgresStorage{})
}

// PostgresStorage is the shared store for several Gatehouse instances
// (gatehouse.storage.postgres): every instance configured with the same database sees the
// same users, sessions, codes and tokens, and single-use credentials stay single-use across
// them. The schema is created and migrated at start (see `gatehouse store migrate`).
//
//	{"module": "postgres", "dsn": "{env.DATABASE_URL}"}
type PostgresStorage struct {
	// DSN is the PostgreSQL connection string, as a URL
	// (postgres://gatehouse@db.example.com:5432/gatehouse?sslmode=verify-full) or in
	// keyword/value form; placeholders are resolved ({env.DATABASE_URL},
	// {file./run/secrets/dsn}), so the configuration need not hold the password. TLS
	// (sslmode, sslrootcert), the pool (pool_max_conns, default 10) and server settings
	// (statement_timeout, default 10s) go in the DSN. The DSN is never logged: logs name
	// user@host:port/database. Required.
	DSN string `json:"dsn,omitempty"`
	// Schema is the PostgreSQL schema of Gatehouse's tables, created if missing (default:
	// the DSN's search_path, usually "public").
	Schema string `json:"schema,omitempty"`
	// PurgeInterval is how often expired sessions, codes, tokens, counters and revocations
	// are deleted, in small batches (default 5m).
	PurgeInterval caddy.Duration `json:"purge_interval,omitempty"`

	key string
}

// CaddyModule returns the Caddy module information.
func (PostgresStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.storage.postgres", New: func() caddy.Module { return new(PostgresStorage) }}
}

// pooledPostgres is a store shared between configurations, with its purge goroutine.
type pooledPostgres struct {
	*postgres.Store
	cancel context.CancelFunc
}

// Destruct stops the purge and closes the pool.
func (p *pooledPostgres) Destruct() error {
	p.cancel()
	return p.Close()
}

// resolveDSN resolves the placeholders of the DSN; an unset variable is an error, not an
// empty DSN that would connect to a local default database.
func resolveDSN(dsn string) (string, error) {
	if strings.Contains(dsn, "{") {
		out, err := caddy.NewReplacer().ReplaceOrErr(dsn, true, true)
		if err != nil {
			return "", fmt.Errorf("dsn: %w (an unset environment variable or unreadable file?)", err)
		}
		dsn = out
	}
	if strings.TrimSpace(dsn) == "" {
		return "", errors.New("dsn: required (for example {env.DATABASE_URL})")
	}
	return dsn, nil
}

// Open opens (or shares, on a reload) the pool of the configured database.
func (p *PostgresStorage) Open(ctx caddy.Context) (store.Store, error) {
	dsn, err := resolveDSN(p.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	logger := ctx.Logger()
	key := "postgres\x00" + dsn + "\x00" + p.Schema
	interval := time.Duration(p.PurgeInterval)
	val, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		// Pending migrations run here; a long one is better run ahead with
		// `gatehouse store migrate`.
		openCtx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		s, err := postgres.Open(openCtx, postgres.Options{DSN: dsn, Schema: p.Schema})
		if err != nil {
			return nil, err
		}
		purgeCtx, stop := context.WithCancel(context.Background())
		go s.RunPurge(purgeCtx, interval, func(deleted map[string]int64, err error) {
			if err != nil {
				logger.Warn("purging expired records", zap.Error(err))
				return
			}
			var n int64
			for _, c := range deleted {
				n += c
			}
			if n > 0 {
				logger.Debug("purged expired records", zap.Any("deleted", deleted))
			}
		})
		return &pooledPostgres{Store: s, cancel: stop}, nil
	})
	if err != nil {
		return nil, err
	}
	p.key = key
	s := val.(*pooledPostgres).Store
	logger.Info("gatehouse store opened", zap.String("store", "postgres"), zap.String("database", s.Target()),
		zap.String("schema", p.Schema))
	return s, nil
}

// Cleanup releases this configuration's use of the pool.
func (p *PostgresStorage) Cleanup() error {
	if p.key == "" {
		return nil
	}
	_, err := stores.Delete(p.key)
	return err
}

// Interface guards.
var (
	_ Storage            = (*PostgresStorage)(nil)
	_ caddy.CleanerUpper = (*PostgresStorage)(nil)
)
