// Package benchstore gives the login benchmarks the store bench/run.sh asks for: Badger on
// disk (SyncWrites) by default, or, with GATEHOUSE_BENCH_STORE=postgres, the PostgreSQL test
// server (store/postgres/pgtest: GATEHOUSE_TEST_POSTGRES or 127.0.0.1:5432) in a schema of
// the benchmark's own, dropped at its end. Both stores commit every write durably before
// they return. Imported by benchmarks only.
package benchstore

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// Env names the environment variable that selects the store: "badger" (or empty) or
// "postgres".
const Env = "GATEHOUSE_BENCH_STORE"

// Name returns the store the benchmarks run on: "badger" or "postgres".
func Name() string {
	if os.Getenv(Env) == "postgres" {
		return "postgres"
	}
	return "badger"
}

// Open returns a new, empty store of the kind Name reports, closed when b ends.
func Open(b testing.TB) store.Store {
	b.Helper()
	switch v := os.Getenv(Env); v {
	case "", "badger":
		s, err := badger.Open(badger.Options{Path: filepath.Join(b.TempDir(), "badger")})
		if err != nil {
			b.Fatalf("open badger store: %v", err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	case "postgres":
		dsn := pgtest.Need(b)
		schema := pgtest.Schema(b)
		s, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn, Schema: schema, MaxConns: 16})
		if err != nil {
			b.Fatalf("open postgres store: %v", err)
		}
		schemas.Store(s, schema)
		b.Cleanup(func() { _ = s.Close() })
		return s
	default:
		b.Fatalf("%s=%q: want badger or postgres", Env, v)
		return nil
	}
}

// schemas maps the PostgreSQL stores Open returned to their schema.
var schemas sync.Map

// Settle brings the store to the state a server's store reaches after a bulk load:
// on PostgreSQL, ANALYZE of its tables (what autovacuum does within a minute or so), so
// that the planner chooses plans from the real statistics, not from an empty table's.
// Badger needs nothing.
func Settle(b testing.TB, s store.Store) {
	b.Helper()
	if schema, ok := schemas.Load(s); ok {
		pgtest.Analyze(b, pgtest.DSN(), schema.(string), "users")
	}
}
