package module

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// waitFor polls cond every millisecond and returns how long it took to hold (fatal after
// limit).
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// TestBackgroundFollowsNotifications: instance B's background work, with its polling slowed
// to once an hour, still applies a logout made on instance A (a session revocation) and a
// key A created well within a second — by the store's change notifications alone. After
// the listener's connection is killed on the server, it reconnects and notifications
// flow again.
func TestBackgroundFollowsNotifications(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := context.Background()
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, postgres.Options{DSN: pgtest.DSN(), Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	ringA, err := keys.Load(ctx, a, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ringB, err := keys.Load(ctx, b, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	revsB := tokens.NewRevocationList(time.Now, 0)
	bg := &background{store: b, revocations: revsB, keys: ringB, rotateEvery: time.Hour, poll: time.Hour, logger: zap.NewNop()}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); bg.run(bctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// The listener is up once B has synced for the first time (TopicAll).
	now := time.Now()
	if err := a.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "sid-0", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first sync", 5*time.Second, func() bool { return revsB.Check("sid-0", "", "", 0) == tokens.ErrRevoked })

	logout := func(sid string) time.Duration {
		t.Helper()
		if err := a.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: sid, At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return waitFor(t, "logout on A applied on B", time.Second, func() bool { return revsB.Check(sid, "", "", 0) == tokens.ErrRevoked })
	}
	var worst time.Duration
	for _, sid := range []string{"sid-1", "sid-2", "sid-3"} {
		worst = max(worst, logout(sid))
	}
	t.Logf("logout on A applied on B (polling off): worst of 3 %v", worst)
	if worst > 500*time.Millisecond {
		t.Errorf("notification path took %v", worst)
	}

	nk, err := ringA.Rotate(ctx, keys.RS256, false)
	if err != nil {
		t.Fatal(err)
	}
	d := waitFor(t, "key created on A published by B", time.Second, func() bool {
		for _, k := range ringB.Keys() {
			if k.ID == nk.ID {
				return true
			}
		}
		return false
	})
	t.Logf("key created on A published by B after %v", d)

	// Kill the listener's connection; it comes back and notifications flow again.
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'gatehouse-listener' AND query = $1`,
		"LISTEN "+pgx.Identifier{"gatehouse:" + schema}.Sanitize()).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener: (%d, %v)", killed, err)
	}
	// Revocations written while it reconnects arrive with the resync on reconnection.
	if err := a.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "sid-during", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	d = waitFor(t, "revocation written while the listener was down", 5*time.Second, func() bool {
		return revsB.Check("sid-during", "", "", 0) == tokens.ErrRevoked
	})
	t.Logf("after the listener was killed: resynced in %v", d)
	t.Logf("logout after reconnection applied in %v", logout("sid-4"))
}
