// Package pgtest gives tests a PostgreSQL server and a schema of their own on it, so that
// tests of the PostgreSQL store (store/postgres) and end-to-end tests running Gatehouse on
// PostgreSQL (e2e) can run in parallel and leave nothing behind. Like storetest, it is
// imported by tests only.
//
// The server is GATEHOUSE_TEST_POSTGRES (a DSN) if set, else DefaultDSN: the development
// machines' server on 127.0.0.1:5432 with trust authentication and a database named test.
// Without a server the tests are skipped, with the reason and how to get one, unless
// GATEHOUSE_REQUIRE_TOOLS=1 (set by CI), where they fail: a skipped store suite must not
// pass unnoticed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the test server when GATEHOUSE_TEST_POSTGRES is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns the test server's DSN.
func DSN() string {
	if dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

var reachable struct {
	once sync.Once
	err  error
}

// Need returns the test server's DSN, or skips the test if no server answers (fails it
// under GATEHOUSE_REQUIRE_TOOLS=1).
func Need(t testing.TB) string {
	t.Helper()
	dsn := DSN()
	reachable.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		reachable.err = err
	})
	if err := reachable.err; err != nil {
		target := dsn
		if cfg, perr := pgx.ParseConfig(dsn); perr == nil {
			target = fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
		}
		msg := fmt.Sprintf("no PostgreSQL server answers at %s: %v.\n"+
			"Install one (Debian/Ubuntu: apt-get install postgresql, allow trust authentication for 127.0.0.1 "+
			"in pg_hba.conf and createdb test; or: docker run -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test "+
			"-p 5432:5432 postgres:16), or point GATEHOUSE_TEST_POSTGRES at another server (a DSN); "+
			"scripts/deps.sh checks for one", target, err)
		if os.Getenv("GATEHOUSE_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// Schema returns the name of a new schema for the test (gh_test_<random>) and drops it,
// with everything in it, when the test ends — after the cleanups registered later, such as
// closing the stores that use it. It does not create the schema: store/postgres.Open does,
// given Options.Schema (and the Caddy module, given its schema option).
func Schema(t testing.TB) string {
	t.Helper()
	dsn := Need(t)
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { Exec(t, dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE") })
	return name
}

// Analyze runs ANALYZE on table of schema (after a bulk load, so that the planner sees the
// table's real size).
func Analyze(t testing.TB, dsn, schema, table string) {
	t.Helper()
	Exec(t, dsn, "ANALYZE "+pgx.Identifier{schema, table}.Sanitize())
}

// Exec runs sql (statements without parameters) on the server of dsn, failing the test on
// an error.
func Exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("connect to run %q: %v", sql, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Errorf("%s: %v", sql, err)
	}
}
