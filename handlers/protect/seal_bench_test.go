package protect

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// BenchmarkSessionHandle compares the two designs for the session cookie's handle on a cache
// miss (the first request with a cookie, after a restart, at another instance): opening the
// sealed cookie (AES-256-GCM, no store access: what the Guard does) against the alternative
// of an ID in the cookie and a server-side record holding the tokens (the ID's MAC checked,
// then the record read from the store: Badger, the embedded default, or memory; a networked
// database adds a round trip). On a cache hit — every later request with the cookie — both
// designs cost the same map lookup (BenchmarkProtectCookieCached).
func BenchmarkSessionHandle(b *testing.B) {
	e := newEnv(b)
	g := e.guard(benchRule)
	resp, _ := e.login("openid", "email", "read", "offline_access")
	sealed := sealFor(b, g, authCookieName, resp.AccessToken, resp.RefreshToken)
	b.Run("sealed/open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := g.sealer.open(authCookieName, sealed); !ok {
				b.Fatal("not opened")
			}
		}
	})
	b.Run("sealed/seal", func(b *testing.B) {
		b.ReportAllocs()
		c := sealedCookie{Client: "web", AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken}
		for b.Loop() {
			if _, err := g.sealer.seal(authCookieName, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The record design: the cookie holds "<id>.<mac>"; the record holds both tokens.
	ctx := context.Background()
	id := secret.Token()
	key := e.ring.DeriveKey("bench-record")
	mac := func(s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	tag := mac(id)
	now := time.Now()
	rec := store.Session{ID: secret.Hash(id), UserID: e.user.ID, AuthTime: now, CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour),
		UserAgent: resp.AccessToken + "~" + resp.RefreshToken} // the tokens, in a field of the right size
	bs, err := badger.Open(badger.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bs.Close() })
	for _, s := range []struct {
		name string
		st   store.Sessions
	}{{"memory", memory.New()}, {"badger", bs}} {
		if err := s.st.CreateSession(ctx, rec); err != nil {
			b.Fatal(err)
		}
		b.Run("record/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !hmac.Equal(mac(id), tag) {
					b.Fatal("mac")
				}
				if _, err := s.st.GetSession(ctx, secret.Hash(id)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProtectCookieStale: a client that ignores Set-Cookie and keeps sending a cookie
// whose access token expired (the load tool's case): after the one refresh, every request is
// a cache hit serving the successor's identity (the successor's Set-Cookie line is added at
// most once a second; the benchmark's clock stands still).
func BenchmarkProtectCookieStale(b *testing.B) {
	e := newEnv(b)
	g := e.guard(benchRule)
	resp, _ := e.login("openid", "email", "read", "offline_access")
	enc := sealFor(b, g, authCookieName, resp.AccessToken, resp.RefreshToken)
	e.clk.Advance(e.p.AccessTokenLifetime + time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		b.Fatal(err)
	}
	line := authCookieName + "=" + enc + "; app_session=abc123; theme=dark"
	r := benchRequest()
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	r.Header["Cookie"] = []string{line}
	if g.Serve(w, r) == nil || len(w.Header()["Set-Cookie"]) != 1 {
		b.Fatalf("control request refused or not refreshed: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Header["Cookie"] = []string{line}
		delete(w.Header(), "Set-Cookie")
		if g.Serve(w, r) == nil {
			b.Fatal("refused")
		}
	}
}
