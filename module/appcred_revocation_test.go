package module

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TestAppCredentialRevokedOnEveryInstance: issue 16 — "revocation takes effect within a
// second". Two instances on one PostgreSQL schema: B verifies a personal access token
// created on A; A revokes it; B's revocation list (its background work, polling slowed to
// once an hour, so by the store's change notification alone) refuses it within a second.
func TestAppCredentialRevokedOnEveryInstance(t *testing.T) {
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
	service := func(s store.Store, rl *tokens.RevocationList) *appcred.Service {
		return &appcred.Service{Store: s, Revocations: rl, Limiter: &lockout.Limiter{Store: s, Now: time.Now, Window: time.Hour},
			IPMaxFailures: 100, SecretMaxFailures: 10, Now: time.Now}
	}
	svcA := service(a, tokens.NewRevocationList(time.Now, 0))
	revsB := tokens.NewRevocationList(time.Now, 0)
	svcB := service(b, revsB)
	ringB, err := keys.Load(ctx, b, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	bg := &background{store: b, revocations: revsB, keys: ringB, rotateEvery: time.Hour, poll: time.Hour, logger: zap.NewNop()}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); bg.run(bctx) }()
	t.Cleanup(func() { cancel(); <-done })

	if err := a.CreateUser(ctx, store.User{ID: "u1", Email: "ada@example.com", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	// The listener is up once B has seen a first notification.
	now := time.Now()
	if err := a.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "warm-up", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first sync", 5*time.Second, func() bool { return revsB.Check("warm-up", "", "", 0) == tokens.ErrRevoked })

	var worst time.Duration
	for i := range 3 {
		sec, c, err := svcA.Create(ctx, "u1", appcred.CreateRequest{Kind: appcred.KindPAT, Name: "ci", ExpiresInDays: 1})
		if err != nil {
			t.Fatal(err)
		}
		v, err := svcB.Verify(ctx, sec, appcred.KindPAT, false, "", "192.0.2.1")
		if err != nil {
			t.Fatalf("B verifies A's credential: %v", err)
		}
		if err := revsB.CheckCredential(c.ID, "u1", v.VerifiedAt); err != nil {
			t.Fatalf("before the revocation: %v", err)
		}
		if _, err := svcA.Revoke(ctx, "u1", appcred.ShortID(c.ID)); err != nil {
			t.Fatal(err)
		}
		d := waitFor(t, "revocation on A applied on B", time.Second, func() bool {
			return revsB.CheckCredential(c.ID, "u1", v.VerifiedAt) == tokens.ErrRevoked
		})
		worst = max(worst, d)
		if _, err := svcB.Verify(ctx, sec, appcred.KindPAT, false, "", "192.0.2.1"); err != appcred.ErrInvalid {
			t.Fatalf("credential %d verifies on B after its revocation: %v", i, err)
		}
	}
	t.Logf("app credential revoked on A refused on B after at most %v (3 runs)", worst)
}
