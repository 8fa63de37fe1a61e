package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// notice is one call of a Listen callback.
type notice struct {
	topic string
	at    time.Time
}

// listenTest runs s.Listen until the test ends and returns what it reports.
func listenTest(t *testing.T, s store.Notifier) <-chan notice {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan notice, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Listen(ctx, func(topic string) { ch <- notice{topic, time.Now()} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// await returns the first notice of topic within d, skipping the others.
func await(t *testing.T, ch <-chan notice, topic string, d time.Duration) notice {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case n := <-ch:
			if n.topic == topic {
				return n
			}
		case <-deadline:
			t.Fatalf("no %q notification within %v", topic, d)
			return notice{}
		}
	}
}

// TestNotifyReachesOtherInstances: the instance-to-instance path of issue 15. A logout
// (revocation), a disabled user and a new signing key written by instance A reach instance
// B's listener well within the one second the polling fallback would take, and B reads the
// entry back at once. When the listener's connection is killed on the server
// (pg_terminate_backend, as a failover or a network cut would), Listen reports TopicAll on
// reconnecting (the caller resyncs everything it may have missed) and notifications flow
// again.
func TestNotifyReachesOtherInstances(t *testing.T) {
	opts := testOptions(t)
	a := openTest(t, opts)
	b := openTest(t, opts)
	other := openTest(t, testOptions(t)) // another deployment, another schema
	ch := listenTest(t, b)
	await(t, ch, store.TopicAll, 5*time.Second)
	otherCh := listenTest(t, other)
	await(t, otherCh, store.TopicAll, 5*time.Second)
	ctx := context.Background()

	now := time.Now()
	var worst time.Duration
	for i := range 5 {
		sent := time.Now()
		r := store.Revocation{Kind: store.RevokeSession, Subject: "sid-" + string(rune('a'+i)), At: now, ExpiresAt: now.Add(time.Hour)}
		if err := a.AddRevocation(ctx, r); err != nil {
			t.Fatal(err)
		}
		n := await(t, ch, store.TopicRevocations, time.Second)
		lat := n.at.Sub(sent)
		worst = max(worst, lat)
		revs, err := b.ListRevocations(ctx, now.Add(-time.Minute), time.Now())
		if err != nil || len(revs) != i+1 {
			t.Fatalf("B's revocation list after the notification: (%d entries, %v), want %d", len(revs), err, i+1)
		}
	}
	t.Logf("revocation write on A to notification on B: worst of 5 %v (polling: up to 1s)", worst)
	if worst > 500*time.Millisecond {
		t.Errorf("notification took %v, want well under a second", worst)
	}
	// Adding the same entry again changes nothing and notifies nobody; a user update and
	// a new key notify their topics.
	if err := a.CreateUser(ctx, store.User{ID: "u1", Email: "u1@example.test", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { u.LastAuthAt = now; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if n := await(t, ch, store.TopicUsers, time.Second); n.topic != store.TopicUsers {
		t.Fatal(n)
	}
	select {
	case n := <-ch:
		t.Fatalf("a login-time update and a disable gave a second notification %q", n.topic)
	case <-time.After(100 * time.Millisecond):
	}
	if err := a.CreateKey(ctx, store.SigningKey{ID: "k1", Alg: "RS256", PrivateKey: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	await(t, ch, store.TopicKeys, time.Second)
	// Runtime settings: a write and a delete notify "settings"; a refused stale write
	// (nothing committed) notifies nobody.
	if _, err := a.PutSetting(ctx, store.Setting{Key: "general", Value: []byte(`{}`)}, 0); err != nil {
		t.Fatal(err)
	}
	await(t, ch, store.TopicSettings, time.Second)
	if _, err := a.PutSetting(ctx, store.Setting{Key: "general", Value: []byte(`{}`)}, 0); !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("stale settings write: %v", err)
	}
	if err := a.DeleteSetting(ctx, "general", 1); err != nil {
		t.Fatal(err)
	}
	if n := await(t, ch, store.TopicSettings, time.Second); n.topic != store.TopicSettings {
		t.Fatal(n)
	}
	select {
	case n := <-ch:
		t.Fatalf("a refused settings write notified %q", n.topic)
	case <-time.After(100 * time.Millisecond):
	}
	select {
	case n := <-otherCh:
		t.Fatalf("a store in another schema heard %q", n.topic)
	default:
	}

	// Kill the listener's connection on the server: Listen reconnects and says so.
	conn, err := pgx.Connect(ctx, opts.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	listenSQL := "LISTEN " + pgx.Identifier{"gatehouse:" + opts.Schema}.Sanitize()
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'gatehouse-listener' AND query = $1`, listenSQL).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener: (%d backends, %v), want 1", killed, err)
	}
	start := time.Now()
	await(t, ch, store.TopicAll, 5*time.Second)
	t.Logf("listener back after %v", time.Since(start))
	if err := a.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	await(t, ch, store.TopicRevocations, time.Second)
}

// TestTryLockIsExclusiveAcrossInstances: of two instances on one schema only one holds a
// named lock (the signing-key rotation runs on one instance at a time); after release the
// other takes it; a lock of another name, or of the same name in another schema, is
// independent.
func TestTryLockIsExclusiveAcrossInstances(t *testing.T) {
	opts := testOptions(t)
	a := openTest(t, opts)
	b := openTest(t, opts)
	other := openTest(t, testOptions(t))
	ctx := context.Background()

	relA, ok, err := a.TryLock(ctx, "rotate-keys")
	if err != nil || !ok {
		t.Fatalf("A: TryLock = (%v, %v), want the lock", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "rotate-keys"); err != nil || ok {
		t.Fatalf("B while A holds it: TryLock = (%v, %v), want refused", ok, err)
	}
	relO, ok, err := other.TryLock(ctx, "rotate-keys")
	if err != nil || !ok {
		t.Fatalf("another schema: TryLock = (%v, %v), want the lock", ok, err)
	}
	relO()
	relX, ok, err := b.TryLock(ctx, "another")
	if err != nil || !ok {
		t.Fatalf("B, another name: TryLock = (%v, %v)", ok, err)
	}
	relX()
	relA()
	relA() // releasing twice is harmless
	relB, ok, err := b.TryLock(ctx, "rotate-keys")
	if err != nil || !ok {
		t.Fatalf("B after A released: TryLock = (%v, %v), want the lock", ok, err)
	}
	relB()
}
