package postgres_test

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// testDSN is the test server (see pgtest).
func testDSN() string { return pgtest.DSN() }

// testOptions returns Options for a new schema of the test's own.
func testOptions(t testing.TB) postgres.Options {
	t.Helper()
	schema := pgtest.Schema(t)
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
