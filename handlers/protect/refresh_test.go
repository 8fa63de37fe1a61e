package protect

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// expireAll moves the clock past the access token's lifetime and leeway and syncs the
// revocation list, as the app's loop would.
func expireAll(t *testing.T, e *env) {
	t.Helper()
	e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
}

// TestSupersededCookieAfterLogout: a remembered successor is not read from the store, so it
// is checked against the revocation list like every other credential: after a logout, a
// superseded cookie whose cache entry is gone (evicted, or dropped by a key removal) is not
// served the successor's identity.
func TestSupersededCookieAfterLogout(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	v := browserLogin(t, e, g)
	expireAll(t, e)
	_, id := serve(g, cookieRequest(authCookieName, v, false)) // v superseded
	if id == nil {
		t.Fatal("refresh refused")
	}
	if err := e.p.EndSession(e.ctx, id.Claims.SessionID); err != nil {
		t.Fatal(err)
	}
	g.cache.remove(v) // eviction, or a signing-key removal's new generation
	if w, id := serve(g, cookieRequest(authCookieName, v, false)); id != nil {
		t.Fatalf("superseded cookie served after logout: %d", w.Code)
	}
}

// TestStolenSupersededCookieBounded: a superseded cookie is followed along the refresh chain
// for a bounded time only (staleCookieTTL after its first successor expired). Later it is a
// replay of a refresh token rotated long ago, which the store answers by revoking the family
// (RFC 9700 §4.14.2: "one of them will present an invalidated refresh token, which will
// inform the authorization server of the breach") — a stolen old cookie cannot follow the
// victim's session for ever.
func TestStolenSupersededCookieBounded(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	stolen := browserLogin(t, e, g)
	victim := stolen
	followed := 0
	for round := 0; round < 40; round++ {
		expireAll(t, e)
		w, id := serve(g, cookieRequest(authCookieName, victim, false))
		if id == nil {
			break // the family was revoked by the thief's replay: the victim logs in again
		}
		if s, ok := setCookieValue(w, authCookieName); ok && s != "" {
			victim = s
		}
		if _, tid := serve(g, cookieRequest(authCookieName, stolen, false)); tid == nil {
			break
		}
		followed++
	}
	limit := int(staleCookieTTL/(e.p.AccessTokenLifetime+e.p.Leeway+time.Second)) + 2
	if followed > limit {
		t.Fatalf("a stolen superseded cookie was followed through %d refreshes (at most %d expected)", followed, limit)
	}
	if _, id := serve(g, cookieRequest(authCookieName, stolen, false)); id != nil {
		t.Fatal("the stolen cookie still works past its deadline")
	}
	if w, id := serve(g, cookieRequest(authCookieName, victim, false)); id != nil {
		t.Fatalf("the family survived the replay of a rotated refresh token: %d", w.Code)
	}
}

// TestTwoGuardsShareRefresh: two routes protected with one client and one cookie (two
// gatehouse_protect handlers of one configuration share their Refreshes): the expired cookie
// reaching both is exchanged once. Two exchanges of one refresh token would be a reuse, and
// the store would revoke the family — logging the user out for having opened two pages.
func TestTwoGuardsShareRefresh(t *testing.T) {
	e := newEnv(t)
	shared := NewRefreshes(0)
	a, b := e.guard(policy.Rule{}), e.guard(policy.Rule{})
	a.refreshes, b.refreshes = shared, shared
	v := browserLogin(t, e, a)
	expireAll(t, e)
	wa, ida := serve(a, cookieRequest(authCookieName, v, false))
	_, idb := serve(b, cookieRequest(authCookieName, v, false))
	next, _ := setCookieValue(wa, authCookieName)
	if ida == nil || idb == nil {
		t.Fatalf("expired cookie on two routes: A served %v, B served %v", ida != nil, idb != nil)
	}
	if ida.Claims.ID != idb.Claims.ID {
		t.Fatal("two exchanges of one refresh token")
	}
	for _, g := range []*Guard{a, b} {
		if w, id := serve(g, cookieRequest(authCookieName, next, false)); id == nil {
			t.Fatalf("the successor cookie was refused: %d", w.Code)
		}
	}
}
