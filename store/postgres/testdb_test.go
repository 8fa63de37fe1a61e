package postgres_test

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

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
)

// The tests run against a real PostgreSQL server: GATEHOUSE_TEST_POSTGRES if set, else the
// development machines' server (trust authentication, database test). Each test works in a
// schema of its own, dropped when it ends, so tests run in parallel and leave nothing
// behind.
const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testDSN() string {
	if dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return defaultTestDSN
}

var reachable struct {
	once sync.Once
	err  error
}

// needPostgres returns the test server's DSN, or skips the test if no server answers —
// fails it instead under GATEHOUSE_REQUIRE_TOOLS=1 (CI), where a skipped store suite would
// pass unnoticed.
func needPostgres(t testing.TB) string {
	t.Helper()
	dsn := testDSN()
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
		msg := fmt.Sprintf("no PostgreSQL server answers at %s: %v.\n"+
			"Install one (Debian/Ubuntu: apt-get install postgresql, then allow trust authentication for 127.0.0.1 "+
			"and createdb test; or: docker run -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test -p 5432:5432 postgres:16), "+
			"or point GATEHOUSE_TEST_POSTGRES at another server (a DSN); scripts/deps.sh checks it", postgres.Target(dsn), err)
		if os.Getenv("GATEHOUSE_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// newSchemaName returns a fresh schema name and drops the schema (if created) when the
// test ends, after the cleanups registered later (closing the stores using it).
func newSchemaName(t testing.TB) string {
	t.Helper()
	dsn := needPostgres(t)
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// testOptions returns Options for a new schema of the test's own.
func testOptions(t testing.TB) postgres.Options {
	t.Helper()
	schema := newSchemaName(t)
	return postgres.Options{DSN: testDSN(), Schema: schema, MaxConns: 8}
}

// openTest opens a store with opts and closes it when the test ends.
func openTest(t testing.TB, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// newStore is the storetest constructor: an empty store in a schema of its own.
func newStore(t *testing.T) store.Store {
	return openTest(t, testOptions(t))
}
