package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.RunTests(t, newStore)
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrencyTests(t, newStore)
}

// Behind a transaction-pooling proxy (PgBouncer) pgx must not use named prepared
// statements; every statement of the store, the pipelined ones included, must also work
// over the simple protocol.
func TestConformanceSimpleProtocol(t *testing.T) {
	t.Parallel()
	pgtest.Need(t)
	dsn := testDSN()
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "://") {
		t.Skip("GATEHOUSE_TEST_POSTGRES is not a URL")
	}
	newSimple := func(t *testing.T) store.Store {
		opts := testOptions(t)
		opts.DSN = dsn + sep + "default_query_exec_mode=simple_protocol"
		return openTest(t, opts)
	}
	storetest.RunTests(t, newSimple)
	storetest.RunConcurrencyTests(t, newSimple)
}

// Two instances starting together on an empty schema: both start, the migrations run
// once (the second waits on the advisory lock, then finds nothing to do).
func TestMigrationsRunOnceWhenInstancesStartTogether(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	ctx := t.Context()
	const n = 4
	applied := make([][]postgres.Migration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { applied[i], errs[i] = postgres.Migrate(ctx, opts) })
	}
	wg.Wait()
	ran := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("migrate %d: %v", i, errs[i])
		}
		switch len(applied[i]) {
		case 0:
		case len(postgres.Migrations()):
			ran++
		default:
			t.Fatalf("migrate %d applied %d of %d migrations", i, len(applied[i]), len(postgres.Migrations()))
		}
	}
	if ran != 1 {
		t.Fatalf("%d of %d concurrent migrations applied the schema, want exactly 1", ran, n)
	}
	if rows := countRows(t, opts, "schema_migrations"); rows != len(postgres.Migrations()) {
		t.Fatalf("schema_migrations has %d rows, want %d", rows, len(postgres.Migrations()))
	}

	// The same through Open, on another empty schema.
	opts = testOptions(t)
	stores := make([]*postgres.Store, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, opts) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	if err := stores[0].CreateUser(ctx, store.User{ID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[n-1].GetUser(ctx, "u1"); err != nil {
		t.Fatalf("another instance does not see the user: %v", err)
	}
}

// countRows counts the rows of a table in opts' schema.
func countRows(t *testing.T, opts postgres.Options, table string) int {
	t.Helper()
	cfg, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+pgx.Identifier{opts.Schema, table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// execSQL runs sql in opts' schema.
func execSQL(t *testing.T, opts postgres.Options, sql string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// `gatehouse store migrate --dry-run` lists what Open would apply, and applies nothing.
func TestPendingMigrations(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	ctx := t.Context()
	execSQL(t, postgres.Options{DSN: opts.DSN}, "CREATE SCHEMA "+pgx.Identifier{opts.Schema}.Sanitize())
	pending, err := postgres.Pending(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	all := postgres.Migrations()
	if len(pending) != len(all) || len(all) == 0 || pending[0].Name != "0001_init" || !strings.Contains(pending[0].SQL, "CREATE TABLE users") {
		t.Fatalf("pending on an empty schema: %+v", pending)
	}
	pending, err = postgres.Pending(ctx, opts)
	if err != nil || len(pending) != len(all) {
		t.Fatalf("a dry run changed the schema: (%d, %v)", len(pending), err)
	}
	openTest(t, opts)
	pending, err = postgres.Pending(ctx, opts)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending after Open: (%+v, %v)", pending, err)
	}
}

// An instance told not to migrate refuses a schema that needs it, naming the command.
func TestSkipMigrationsRefusesAnOldSchema(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	execSQL(t, postgres.Options{DSN: opts.DSN}, "CREATE SCHEMA "+pgx.Identifier{opts.Schema}.Sanitize())
	opts.SkipMigrations = true
	_, err := postgres.Open(t.Context(), opts)
	if err == nil || !strings.Contains(err.Error(), "gatehouse store migrate") {
		t.Fatalf("open with pending migrations and SkipMigrations: %v", err)
	}
	opts.SkipMigrations = false
	openTest(t, opts)
	opts.SkipMigrations = true
	openTest(t, opts)
}

// A migration edited after a database applied it would leave that database different
// from a new one: refused at start.
func TestChangedMigrationIsRefused(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	openTest(t, opts)
	execSQL(t, opts, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
	_, err := postgres.Open(t.Context(), opts)
	if err == nil || !strings.Contains(err.Error(), "0001_init was changed after it was applied") {
		t.Fatalf("open after a migration changed: %v", err)
	}
}

// The DSN's password never reaches a log line or an error.
func TestTargetAndErrorsHideThePassword(t *testing.T) {
	dsn := "postgres://gatehouse:s3cr3t-pw@db.example.com:6543/idp?sslmode=verify-full"
	if got, want := postgres.Target(dsn), "gatehouse@db.example.com:6543/idp"; got != want {
		t.Fatalf("Target = %q, want %q", got, want)
	}
	_, err := postgres.Open(t.Context(), postgres.Options{DSN: "postgres://gatehouse:s3cr3t-pw@db.example.com:notaport/idp"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Fatalf("open with a bad DSN: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, postgres.Options{DSN: "postgres://gatehouse:s3cr3t-pw@127.0.0.1:1/idp?connect_timeout=1"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Fatalf("open of an unreachable server: %v", err)
	}
	if _, err := postgres.Open(t.Context(), postgres.Options{}); err == nil {
		t.Fatal("Open without a DSN: no error")
	}
}

// Acknowledged security writes must survive a crash of the database server.
func TestAsynchronousCommitIsRefused(t *testing.T) {
	_, err := postgres.Open(t.Context(), postgres.Options{DSN: "postgres://u@127.0.0.1:5432/db?synchronous_commit=off"})
	if err == nil || !strings.Contains(err.Error(), "synchronous_commit") {
		t.Fatalf("open with synchronous_commit=off: %v", err)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	t.Parallel()
	s, err := postgres.Open(t.Context(), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.GetUser(t.Context(), "u1"); !errors.Is(err, postgres.ErrClosed) {
		t.Fatalf("get after close: %v, want ErrClosed", err)
	}
	if err := s.CreateUser(t.Context(), store.User{ID: "u1"}); !errors.Is(err, postgres.ErrClosed) {
		t.Fatalf("create after close: %v, want ErrClosed", err)
	}
}

// The statement timeout ends a query that would hold a connection for too long.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	opts.StatementTimeout = 200 * time.Millisecond
	s := openTest(t, opts)
	// A row lock held elsewhere makes UpdateUser wait: the timeout ends the wait.
	if err := s.CreateUser(t.Context(), store.User{ID: "u1"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), "SELECT 1 FROM users WHERE id = 'u1' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.UpdateUser(t.Context(), "u1", func(u store.User) (store.User, error) { return u, nil })
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("update of a locked row: %v, want a statement timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the timeout took %v", d)
	}
}

// Records without an expiry are never purged, expired ones are, and a purge removes a
// refresh token only with (or after) its family.
func TestGarbageCollect(t *testing.T) {
	t.Parallel()
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	now := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateSession(ctx, store.Session{ID: "s-old", UserID: "u1", IdleExpiresAt: past, AbsoluteExpiresAt: future}))
	must(s.CreateSession(ctx, store.Session{ID: "s-live", UserID: "u1", IdleExpiresAt: future, AbsoluteExpiresAt: future}))
	must(s.CreateSession(ctx, store.Session{ID: "s-forever", UserID: "u1"}))
	must(s.CreateAuthCode(ctx, store.AuthCode{ID: "c-old", ExpiresAt: past.Add(-time.Hour), PurgeAfter: past}))
	// Expired but not yet purgeable: a late replay must still be recognised.
	must(s.CreateAuthCode(ctx, store.AuthCode{ID: "c-replay", ExpiresAt: past, PurgeAfter: future}))
	must(s.CreateAuthCode(ctx, store.AuthCode{ID: "c-forever"}))
	must(s.CreateRefreshToken(ctx, store.RefreshToken{ID: "t-old", FamilyID: "f-old", UserID: "u1", ExpiresAt: past, FamilyExpiresAt: past}))
	// The token's own expiry passed, its family's did not: the token stays (a replay of
	// a rotated token must still revoke the family).
	must(s.CreateRefreshToken(ctx, store.RefreshToken{ID: "t-idle", FamilyID: "f-live", UserID: "u1", ExpiresAt: past, FamilyExpiresAt: future}))
	must(s.CreateRefreshToken(ctx, store.RefreshToken{ID: "t-own", FamilyID: "f-none", UserID: "u1", ExpiresAt: past}))
	must(s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "s-old", At: past, ExpiresAt: past}))
	must(s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "s-live", At: past, ExpiresAt: future}))
	_, _, err := s.IncrementCounter(ctx, "k-old", 1, time.Minute, past.Add(-time.Minute))
	must(err)
	_, _, err = s.IncrementCounter(ctx, "k-live", 1, time.Hour, now)
	must(err)
	must(s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: "o-old", Purpose: "invite", ExpiresAt: past}))
	must(s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: "o-forever", Purpose: "invite"}))

	deleted, err := s.GarbageCollect(ctx, now)
	must(err)
	want := map[string]int64{"sessions": 1, "auth_codes": 1, "refresh_tokens": 2, "refresh_families": 1, "revocations": 1,
		"counters": 1, "one_time_codes": 1}
	for table, n := range want {
		if deleted[table] != n {
			t.Errorf("purged %d rows of %s, want %d (all: %v)", deleted[table], table, n, deleted)
		}
	}
	gone := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after the purge: %v, want ErrNotFound", what, err)
		}
	}
	kept := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s after the purge: %v", what, err)
		}
	}
	_, err = s.GetSession(ctx, "s-old")
	gone("expired session", err)
	_, err = s.GetSession(ctx, "s-live")
	kept("live session", err)
	_, err = s.GetSession(ctx, "s-forever")
	kept("session without expiry", err)
	_, err = s.RedeemAuthCode(ctx, "c-old", "g", now)
	gone("purgeable code", err)
	_, err = s.RedeemAuthCode(ctx, "c-replay", "g", now)
	kept("expired code before PurgeAfter", err)
	_, err = s.RedeemAuthCode(ctx, "c-forever", "g", now)
	kept("code without PurgeAfter", err)
	_, err = s.GetRefreshToken(ctx, "t-old")
	gone("token of an expired family", err)
	gone("expired family", s.RevokeFamily(ctx, "f-old"))
	_, err = s.GetRefreshToken(ctx, "t-idle")
	kept("idle token of a live family", err)
	_, err = s.GetRefreshToken(ctx, "t-own")
	gone("expired token of a family without expiry", err)
	kept("family without expiry", s.RevokeFamily(ctx, "f-none"))
	revs, err := s.ListRevocations(ctx, time.Time{}, time.Time{})
	must(err)
	if len(revs) != 1 || revs[0].Subject != "s-live" {
		t.Errorf("revocations after the purge: %+v", revs)
	}
	if v, _, _ := s.GetCounter(ctx, "k-live", now); v != 1 {
		t.Errorf("live counter: %d", v)
	}
	_, err = s.GetOneTimeCode(ctx, "o-old")
	gone("expired one-time code", err)
	_, err = s.GetOneTimeCode(ctx, "o-forever")
	kept("one-time code without expiry", err)

	deleted, err = s.GarbageCollect(ctx, now)
	must(err)
	for table, n := range deleted {
		if n != 0 {
			t.Errorf("second purge deleted %d rows of %s", n, table)
		}
	}
}

// The purge works through a backlog in batches and stops with its context.
func TestGarbageCollectBatchesAndRunPurge(t *testing.T) {
	t.Parallel()
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	now := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	const n = 1234
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if err := s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: strings.Repeat("x", i%7) + time.Duration(i).String(),
					Purpose: "p", ExpiresAt: now.Add(-time.Second)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	deleted, err := s.GarbageCollect(ctx, now)
	if err != nil || deleted["one_time_codes"] != n {
		t.Fatalf("purge of %d codes: (%v, %v)", n, deleted, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	reports := make(chan error, 100)
	go func() {
		s.RunPurge(runCtx, time.Millisecond, func(_ map[string]int64, err error) {
			select {
			case reports <- err:
			default:
			}
		})
		close(done)
	}()
	if err := <-reports; err != nil {
		t.Fatalf("background purge: %v", err)
	}
	cancel()
	<-done
}
