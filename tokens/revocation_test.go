package tokens_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// fakeClock is a settable clock. It starts at the wall clock (Badger expires records by the
// wall clock, so store-backed tests must not live in another year).
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := new(fakeClock)
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func memStore(t *testing.T) store.Store {
	t.Helper()
	s := memory.New()
	return s
}

// TestRevocationListCheck: JW-26, PX-29 — a revoked session, grant or user stops every
// token carrying it; a user revocation covers tokens issued up to and including its second
// and not later ones (a new login after a password change works).
func TestRevocationListCheck(t *testing.T) {
	clk := newClock()
	l := tokens.NewRevocationList(clk.Now, 0)
	at := clk.Now()
	exp := at.Add(time.Hour)
	l.Add(
		store.Revocation{Kind: store.RevokeSession, Subject: "s-bad", At: at, ExpiresAt: exp},
		store.Revocation{Kind: store.RevokeGrant, Subject: "g-bad", At: at, ExpiresAt: exp},
		store.Revocation{Kind: store.RevokeUser, Subject: "u-bad", At: at, ExpiresAt: exp},
	)
	iat := at.Unix()
	tests := []struct {
		name          string
		sid, gid, sub string
		iat           int64
		want          error
	}{
		{"clean", "s", "g", "u", iat, nil},
		{"revoked session", "s-bad", "g", "u", iat, tokens.ErrRevoked},
		{"revoked grant", "s", "g-bad", "u", iat, tokens.ErrRevoked},
		{"revoked grant, no session", "", "g-bad", "u", iat, tokens.ErrRevoked},
		{"user, token before", "s", "g", "u-bad", iat - 100, tokens.ErrRevoked},
		{"user, token same second", "s", "g", "u-bad", iat, tokens.ErrRevoked},
		{"user, token after", "s", "g", "u-bad", iat + 1, nil},
		{"empty ids are not wildcards", "", "", "u", iat, nil},
		{"kinds are separate namespaces", "g-bad", "s-bad", "u", iat, nil},
		{"similar id", "s-bad2", "g-ba", "u-bad ", iat, nil},
	}
	for _, tt := range tests {
		if err := l.Check(tt.sid, tt.gid, tt.sub, tt.iat); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Check = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	// A later user revocation moves the cut-off forward, never back.
	l.Add(store.Revocation{Kind: store.RevokeUser, Subject: "u-bad", At: at.Add(-time.Hour), ExpiresAt: exp})
	if err := l.Check("", "", "u-bad", iat); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("an older user revocation moved the cut-off back: %v", err)
	}
	l.Add(store.Revocation{Kind: store.RevokeUser, Subject: "u-bad", At: at.Add(10 * time.Second), ExpiresAt: exp})
	if err := l.Check("", "", "u-bad", iat+5); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("a newer user revocation did not move the cut-off: %v", err)
	}
}

// TestRevocationListPrunesExpired: entries are dropped once no token they cover can be
// valid, so the list stays small (RB); an entry already expired when added is ignored.
func TestRevocationListPrunesExpired(t *testing.T) {
	clk := newClock()
	l := tokens.NewRevocationList(clk.Now, 0)
	l.Add(store.Revocation{Kind: store.RevokeSession, Subject: "old", At: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)})
	l.Add(store.Revocation{Kind: store.RevokeGrant, Subject: "dead", At: clk.Now(), ExpiresAt: clk.Now()})
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1 (an already expired entry is not kept)", n)
	}
	if err := l.Check("old", "", "", 0); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("fresh entry not applied: %v", err)
	}
	clk.Advance(2 * time.Minute)
	l.Add(store.Revocation{Kind: store.RevokeUser, Subject: "u", At: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)})
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d after expiry, want 1 (the expired session entry pruned)", n)
	}
	if err := l.Check("old", "", "", 0); err != nil {
		t.Fatalf("expired entry still applied: %v", err)
	}
	// Re-adding the same subject keeps the later expiry.
	l.Add(store.Revocation{Kind: store.RevokeSession, Subject: "s", At: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)})
	l.Add(store.Revocation{Kind: store.RevokeSession, Subject: "s", At: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)})
	clk.Advance(30 * time.Minute)
	l.Add(store.Revocation{Kind: store.RevokeGrant, Subject: "tick", At: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)})
	if err := l.Check("s", "", "", 0); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("a shorter duplicate shortened the entry: %v", err)
	}
}

// TestRevocationListStale: RB-09 — if the list has not been synced from the store for
// StaleAfter, every check fails closed with ErrUnavailable (the protect handler answers
// 503), and a successful Sync restores service.
func TestRevocationListStale(t *testing.T) {
	clk := newClock()
	s := memStore(t)
	l := tokens.NewRevocationList(clk.Now, time.Minute)
	if err := l.Check("s", "g", "u", clk.Now().Unix()); err != nil {
		t.Fatalf("fresh list: %v", err)
	}
	clk.Advance(59 * time.Second)
	if err := l.Check("s", "g", "u", clk.Now().Unix()); err != nil {
		t.Fatalf("within StaleAfter: %v", err)
	}
	clk.Advance(2 * time.Second)
	if err := l.Check("s", "g", "u", clk.Now().Unix()); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("stale list: Check = %v, want ErrUnavailable", err)
	}
	if err := l.Sync(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := l.Check("s", "g", "u", clk.Now().Unix()); err != nil {
		t.Fatalf("after Sync: %v", err)
	}
	// A failing Sync does not refresh the staleness clock.
	clk.Advance(61 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = l.Sync(ctx, failingStore{})
	if err := l.Check("s", "g", "u", clk.Now().Unix()); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("after a failed Sync: Check = %v, want ErrUnavailable", err)
	}
	// StaleAfter 0 never goes stale.
	l0 := tokens.NewRevocationList(clk.Now, 0)
	clk.Advance(24 * time.Hour)
	if err := l0.Check("s", "g", "u", 0); err != nil {
		t.Fatalf("StaleAfter 0: %v", err)
	}
}

type failingStore struct{}

func (failingStore) AddRevocation(context.Context, store.Revocation) error { return errors.New("down") }
func (failingStore) ListRevocations(context.Context, time.Time, time.Time) ([]store.Revocation, error) {
	return nil, errors.New("down")
}

// TestRevocationListSyncFromAnotherInstance: JW-26 across instances — a logout on instance
// A (entry written to the shared store) reaches instance B's in-memory list at its next
// Sync; later entries arrive at later Syncs, including one stamped a little in the past by
// an instance whose clock lags.
func TestRevocationListSyncFromAnotherInstance(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	a := tokens.NewRevocationList(clk.Now, time.Minute)
	b := tokens.NewRevocationList(clk.Now, time.Minute)
	if err := b.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	revoke := func(l *tokens.RevocationList, kind, subject string, at time.Time) {
		r := store.Revocation{Kind: kind, Subject: subject, At: at, ExpiresAt: at.Add(20 * time.Minute)}
		l.Add(r)
		if err := s.AddRevocation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	revoke(a, store.RevokeSession, "s1", clk.Now())
	if err := a.Check("s1", "", "u", 0); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("instance A: %v", err)
	}
	if err := b.Check("s1", "", "u", 0); err != nil {
		t.Fatalf("instance B knew before syncing: %v", err)
	}
	clk.Advance(time.Second)
	if err := b.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := b.Check("s1", "", "u", 0); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("instance B after Sync: %v", err)
	}
	// Several later syncs: a grant, then a user revocation stamped 20 s in the past.
	clk.Advance(5 * time.Second)
	revoke(a, store.RevokeGrant, "g1", clk.Now())
	clk.Advance(time.Second)
	if err := b.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	revoke(a, store.RevokeUser, "u1", clk.Now().Add(-20*time.Second))
	clk.Advance(time.Second)
	if err := b.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := b.Check("", "g1", "u", 0); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("grant not synced: %v", err)
	}
	if err := b.Check("", "", "u1", clk.Now().Add(-time.Minute).Unix()); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("lagging user revocation not synced: %v", err)
	}
	// A third instance starting now loads every unexpired entry.
	c := tokens.NewRevocationList(clk.Now, time.Minute)
	if err := c.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("new instance Len = %d, want 3", n)
	}
}

// TestVerifierConsultsRevocations: a validly signed, unexpired access token of a revoked
// session is refused by the Verifier itself (JW-26), and a stale list fails closed.
func TestVerifierConsultsRevocations(t *testing.T) {
	clk := newClock()
	l := tokens.NewRevocationList(clk.Now, time.Minute)
	v := &tokens.Verifier{Issuer: issuer, Keys: fixture.ring, Now: clk.Now, Leeway: 30 * time.Second,
		MaxLifetime: 10 * time.Minute, Revocations: l}
	c := with(claims(), "iat", clk.Now().Unix(), "exp", clk.Now().Add(5*time.Minute).Unix())
	tok := access(t, fixture.es, c)
	if _, err := v.VerifyAccessToken(tok); err != nil {
		t.Fatalf("control: %v", err)
	}
	l.Add(store.Revocation{Kind: store.RevokeSession, Subject: "session-1", At: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)})
	if _, err := v.VerifyAccessToken(tok); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("revoked session: %v", err)
	}
	// Logout identifies the session of a revoked or expired token without the check.
	if got, err := v.VerifyAccessTokenIgnoringExpiry(tok); err != nil || got.SessionID != "session-1" {
		t.Fatalf("ignoring expiry: %v", err)
	}
	l2 := tokens.NewRevocationList(clk.Now, time.Minute)
	v.Revocations = l2
	clk.Advance(2 * time.Minute)
	if _, err := v.VerifyAccessToken(tok); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("stale list: %v, want ErrUnavailable", err)
	}
}

// TestRevocationListConcurrent: reads are lock-free snapshots; concurrent Add, Sync and
// Check are safe (run with -race) and no added entry is lost.
func TestRevocationListConcurrent(t *testing.T) {
	clk := newClock()
	s := memStore(t)
	l := tokens.NewRevocationList(clk.Now, 0)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id := string(rune('a'+w)) + string(rune('a'+i%26)) + string(rune('0'+i/26))
				l.Add(store.Revocation{Kind: store.RevokeSession, Subject: id, At: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)})
				_ = l.Check(id, "", "", 0)
				if i%10 == 0 {
					_ = l.Sync(context.Background(), s)
				}
			}
		}()
	}
	wg.Wait()
	if n := l.Len(); n != 400 {
		t.Fatalf("Len = %d, want 400", n)
	}
}

// TestRB10_StaleListKeepsTokensSeenLive: RB-10 with the issue's rule "if PostgreSQL is
// unreachable, protected routes with a still-valid cached credential keep working for the
// token's lifetime and everything else fails closed". While the list is stale, an access
// token issued before the last successful Sync is checked against the list as it was then
// (a revocation seen before the outage still refuses it); a token issued after that Sync,
// whose session this instance never saw, and every other check fail closed with
// ErrUnavailable; a Sync after the outage restores the normal checks.
func TestRB10_StaleListKeepsTokensSeenLive(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	l := tokens.NewRevocationList(clk.Now, time.Minute)
	issued := clk.Now()
	live := &tokens.AccessClaims{Subject: "u1", SessionID: "s-live", GrantID: "g-live", ID: "t1", IssuedAt: issued.Unix()}
	gone := &tokens.AccessClaims{Subject: "u2", SessionID: "s-gone", GrantID: "g-gone", ID: "t2", IssuedAt: issued.Unix()}
	if err := s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "s-gone", At: issued,
		ExpiresAt: issued.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := l.Sync(ctx, s); err != nil { // the last Sync before the outage
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // no Sync since: stale
	if err := l.CheckClaims(live); err != nil {
		t.Fatalf("token issued before the last Sync, during the outage: %v, want accepted", err)
	}
	if err := l.CheckClaims(gone); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("token of a session revoked before the outage: %v, want ErrRevoked", err)
	}
	after := &tokens.AccessClaims{Subject: "u1", SessionID: "s-new", ID: "t3", IssuedAt: clk.Now().Add(-time.Minute).Unix()}
	if err := l.CheckClaims(after); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("token issued after the last Sync: %v, want ErrUnavailable", err)
	}
	sameSecond := &tokens.AccessClaims{Subject: "u1", SessionID: "s-new", ID: "t4", IssuedAt: issued.Add(time.Second).Unix()}
	if err := l.CheckClaims(sameSecond); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("token issued in the second of the last Sync: %v, want ErrUnavailable", err)
	}
	if err := l.Check("s-live", "", "u1", issued.Unix()); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("Check (sessions, grants) on a stale list: %v, want ErrUnavailable", err)
	}
	// The outage ends: the tokens issued meanwhile are checked normally again.
	if err := l.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := l.CheckClaims(after); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if err := l.CheckClaims(gone); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("revoked after the outage: %v", err)
	}
}
