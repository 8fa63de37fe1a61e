package storecli

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// populatedBadger returns the spec of a new Badger directory holding storetest.Populate's
// records (users with a password, a passkey and an identity, a client, keys, sessions,
// refresh tokens ...), closed again as a stopped server leaves it.
func populatedBadger(t *testing.T) Spec {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "badger")
	s, err := badger.Open(badger.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := storetest.Populate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return Spec{Kind: "badger", Target: dir}
}

func openRO(t *testing.T, s Spec) Opened {
	t.Helper()
	st, err := Open(t.Context(), s, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestCopyBadgerToPostgresAndBack: a populated Badger store copied into PostgreSQL and
// from there into a new Badger directory comes back with no difference, and what keeps a
// user logged in (the session, the refresh token) works on each copy.
func TestCopyBadgerToPostgresAndBack(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.Need(t)
	src := populatedBadger(t)
	pg := Spec{Kind: "postgres", Target: dsn, Schema: pgtest.Schema(t)}
	back := Spec{Kind: "badger", Target: filepath.Join(t.TempDir(), "back")}
	now := storetest.Base

	var log bytes.Buffer
	stats, err := Copy(ctx, src, pg, &log, now)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Written[store.KindUser] != 3 || stats.Written[store.KindSession] != 2 || stats.Written[store.KindKey] != 2 {
		t.Fatalf("stats %+v", stats)
	}
	if !strings.Contains(log.String(), "user 3") || strings.Contains(log.String(), "pkcs8") {
		t.Fatalf("log: %s", log.String())
	}
	if _, err := Copy(ctx, pg, back, &log, now); err != nil {
		t.Fatal(err)
	}
	a, p, b := openRO(t, src), openRO(t, pg), openRO(t, back)
	storetest.SameRecords(t, a, p, "badger -> postgres")
	storetest.SameRecords(t, a, b, "badger -> postgres -> badger")

	for name, s := range map[string]store.Store{"postgres": p, "badger again": b} {
		se, err := s.GetSession(ctx, "s1")
		if err != nil || se.UserID != "u1" {
			t.Fatalf("%s: session of the logged-in user: %+v, %v", name, se, err)
		}
		rt, err := s.GetRefreshToken(ctx, "t2")
		if err != nil || rt.Revoked || !rt.RotatedAt.IsZero() {
			t.Fatalf("%s: live refresh token: %+v, %v", name, rt, err)
		}
		pw, err := s.GetPassword(ctx, "u1")
		if err != nil || !strings.HasPrefix(pw.Hash, "$argon2id$") {
			t.Fatalf("%s: password: %+v, %v", name, pw, err)
		}
	}
	// The copy into PostgreSQL can go on being used: the refresh token rotates.
	pw, err := Open(ctx, pg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	next := store.RefreshToken{ID: "t4", FamilyID: "f1", ClientID: "app", UserID: "u1", SessionID: "s1",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour)}
	if _, err := pw.RotateRefreshToken(ctx, "t2", next, now.Add(time.Minute)); err != nil {
		t.Fatalf("rotate the copied token: %v", err)
	}
}

// TestCopyRefusesNonEmptyDestination: a copy never merges into existing data.
func TestCopyRefusesNonEmptyDestination(t *testing.T) {
	src, dst := populatedBadger(t), populatedBadger(t)
	var log bytes.Buffer
	_, err := Copy(t.Context(), src, dst, &log, storetest.Base)
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "new Badger directory") {
		t.Fatalf("copy into a populated store: %v", err)
	}
	if _, err := Copy(t.Context(), src, src, &log, storetest.Base); err == nil {
		t.Fatal("copy of a store into itself succeeded")
	}
}

// TestCopyFromBadgerInUse: while a server holds the Badger directory, the copy says to stop
// it; the source is opened read-only and writes to it fail.
func TestCopyFromBadgerInUse(t *testing.T) {
	src := populatedBadger(t)
	held, err := badger.Open(badger.Options{Path: src.Target})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	_, err = Copy(t.Context(), src, Spec{Kind: "badger", Target: filepath.Join(t.TempDir(), "x")}, &log, storetest.Base)
	if err == nil || !strings.Contains(err.Error(), "stop the Gatehouse server") {
		t.Fatalf("copy from a directory in use: %v", err)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	ro := openRO(t, src)
	if err := ro.PutGroup(t.Context(), store.Group{Name: "x", UpdatedAt: storetest.Base}); err == nil {
		t.Fatal("a write to the read-only source succeeded")
	}
}

func TestParseSpec(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u@db/x")
	for in, want := range map[string]Spec{
		"postgres:postgres://u:pw@db/idp": {Kind: "postgres", Target: "postgres://u:pw@db/idp"},
		"postgres://u:pw@db/idp":          {Kind: "postgres", Target: "postgres://u:pw@db/idp"},
		"postgres:host=db dbname=idp":     {Kind: "postgres", Target: "host=db dbname=idp"},
		"postgres:":                       {Kind: "postgres", Target: "postgres://u@db/x"},
		"badger:/var/lib/gh":              {Kind: "badger", Target: "/var/lib/gh"},
	} {
		got, err := ParseSpec(in, "")
		if err != nil || got != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"badger:", "mysql:x", "/var/lib"} {
		if _, err := ParseSpec(in, ""); err == nil {
			t.Errorf("ParseSpec(%q) succeeded", in)
		}
	}
	if s, _ := ParseSpec("postgres:postgres://u:secret@db/idp", ""); strings.Contains(s.String(), "secret") {
		t.Errorf("String shows the password: %s", s)
	}
}

// TestCopyMemoryThroughStoresAndBack: the reference store's records copied into Badger
// (on disk) and PostgreSQL and back into a new reference store are the same records.
func TestCopyMemoryThroughStoresAndBack(t *testing.T) {
	ctx := t.Context()
	src := populatedMemory(t)
	specs := []Spec{{Kind: "badger", Target: filepath.Join(t.TempDir(), "b")}}
	if dsn := pgtest.Need(t); dsn != "" {
		specs = append(specs, Spec{Kind: "postgres", Target: dsn, Schema: pgtest.Schema(t)})
	}
	for _, sp := range specs {
		mid, err := Open(ctx, sp, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Copy(ctx, src, mid, storetest.Base); err != nil {
			t.Fatalf("%s: %v", sp, err)
		}
		back := memory.New()
		if _, err := store.Copy(ctx, mid, back, storetest.Base); err != nil {
			t.Fatalf("%s: back: %v", sp, err)
		}
		storetest.SameRecords(t, src, back, "memory -> "+sp.Kind+" -> memory")
		_ = mid.Close()
	}
}

// TestCopyStopsAtFirstError: a record the destination refuses stops the copy with an error
// naming it.
func TestCopyStopsAtFirstError(t *testing.T) {
	ctx := t.Context()
	src, dst := populatedMemory(t), memory.New()
	if err := dst.CreateUser(ctx, store.User{ID: "u2", CreatedAt: storetest.Base}); err != nil {
		t.Fatal(err)
	}
	_, err := store.Copy(ctx, src, dst, storetest.Base)
	if !errors.Is(err, store.ErrAlreadyExists) || !strings.Contains(err.Error(), `copy user "u2"`) {
		t.Fatalf("copy onto a taken ID: %v", err)
	}
	if _, err := dst.GetSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the copy went on past the error: %v", err)
	}
}
