package protect

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// The session cookie from the user's side: an opaque, sealed handle that gives nothing away
// and opens only at the Guard (and client) it was set for; a superseded cookie that keeps
// coming back costs one refresh per access-token lifetime, not one per request.

const authCookieName = "__Host-gatehouse_auth"

// browserLogin logs e.user in at g through the real login (state cookie, portal, callback)
// and returns the session cookie the browser got.
func browserLogin(t *testing.T, e *env, g *Guard) string {
	t.Helper()
	b := newStepUpBrowser(t, g, e.portalAt("pwd"))
	if w, _ := b.open(testSite+"/docs", 6); w.Code != http.StatusOK || b.upstream != 1 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	c := b.cookies[authCookieName]
	if c == nil || c.Value == "" {
		t.Fatal("no session cookie after the login")
	}
	return c.Value
}

func cookieRequest(name, value string, browser bool) *http.Request {
	r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	if browser {
		r.Header.Set("Accept", "text/html")
	}
	r.AddCookie(&http.Cookie{Name: name, Value: value})
	return r
}

func setCookieValue(w *httptest.ResponseRecorder, name string) (string, bool) {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// TestSessionCookieOpaque: the cookie a login sets holds no readable credential — no JWT
// (nothing starting "eyJ", in the value or in its base64 decoding), neither token as a
// substring — fits in a browser's 4 KB, and nothing in it can be redeemed at /token.
func TestSessionCookieOpaque(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	v := browserLogin(t, e, g)
	sc, ok := g.sealer.open(authCookieName, v)
	if !ok || sc.RefreshToken == "" || sc.Client != "web" {
		t.Fatalf("the Guard cannot open its own cookie: %+v %v", sc, ok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("cookie value is not base64url: %v", err)
	}
	// Needles long enough that random sealed bytes cannot contain them by chance (a bare
	// "eyJ" matched one cookie in ~30 when compared without case): the token, each of its
	// segments, the refresh token, and the user's address.
	parts := strings.Split(sc.AccessToken, ".")
	for _, hay := range []string{v, string(raw)} {
		for _, needle := range []string{sc.AccessToken, sc.RefreshToken, parts[0], parts[1], parts[2], "alice@example.com"} {
			if strings.Contains(hay, needle) {
				t.Fatalf("the cookie gives away %q", needle)
			}
		}
	}
	if len(authCookieName)+1+len(v) > 4000 {
		t.Fatalf("cookie of %d bytes: browsers drop cookies over 4 KB", len(v))
	}
	// Whatever part of the cookie a thief tries as a refresh token at /token: refused.
	for _, guess := range []string{v, v[:len(v)/2], v[len(v)/2:], string(raw)} {
		if _, oerr := e.p.RefreshGrant(e.ctx, e.client, guess, ""); oerr == nil {
			t.Fatalf("a part of the cookie was redeemed as a refresh token")
		}
	}
	if _, oerr := e.p.RefreshGrant(e.ctx, e.client, sc.RefreshToken, ""); oerr != nil {
		t.Fatalf("control: the sealed refresh token itself is valid: %v", oerr)
	}
}

// TestSessionCookieTampered: PX-28 — a session cookie with one character changed (anywhere),
// truncated or extended sends a browser to the login (302, cookie cleared) and an API client
// gets 401: never a 500, never the upstream.
func TestSessionCookieTampered(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	v := browserLogin(t, e, g)
	var bad []string
	for _, i := range []int{0, 5, 16, len(v) / 2, len(v) - 20, len(v) - 1} {
		b := []byte(v)
		if b[i] == 'x' {
			b[i] = 'y'
		} else {
			b[i] = 'x'
		}
		bad = append(bad, string(b))
	}
	bad = append(bad, v[:len(v)-1], v+"A", v[1:], "A"+v)
	for i, val := range bad {
		w, id := serve(g, cookieRequest(authCookieName, val, true))
		if id != nil || w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), testIssuer+"/authorize?") {
			t.Fatalf("tampered cookie %d: %d %q, want a redirect to the login", i, w.Code, w.Header().Get("Location"))
		}
		if cleared, ok := setCookieValue(w, authCookieName); !ok || cleared != "" {
			t.Fatalf("tampered cookie %d not cleared", i)
		}
		w, id = serve(g, cookieRequest(authCookieName, val, false))
		if id != nil || w.Code != http.StatusUnauthorized {
			t.Fatalf("tampered cookie %d, API request: %d", i, w.Code)
		}
	}
	if _, id := serve(g, cookieRequest(authCookieName, v, false)); id == nil {
		t.Fatal("control: the genuine cookie is refused")
	}
}

// TestSessionCookieOtherGuard: a cookie set for one Guard opens only where it was set: a
// Guard of another client refuses it, and so does a Guard whose session cookie has another
// name (the value moved to that name); another Guard of the same client and cookie — the
// same site's other routes — accepts it.
func TestSessionCookieOtherGuard(t *testing.T) {
	e := newEnv(t)
	a := e.guard(policy.Rule{})
	v := browserLogin(t, e, a)

	sameSite := e.guard(policy.Rule{Scopes: []string{"openid"}})
	if _, id := serve(sameSite, cookieRequest(authCookieName, v, false)); id == nil {
		t.Fatal("another route of the same site refused the site's cookie")
	}
	otherClient := e.guard(policy.Rule{})
	otherClient.ClientID = "partner"
	if w, id := serve(otherClient, cookieRequest(authCookieName, v, false)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("a Guard of another client accepted the cookie: %d", w.Code)
	} else if _, cleared := setCookieValue(w, authCookieName); cleared {
		t.Fatal("a Guard of another client cleared the cookie (the session of its own routes)")
	}
	otherName := e.guard(policy.Rule{})
	otherName.CookieName = "other"
	if w, id := serve(otherName, cookieRequest("__Host-gatehouse_other", v, false)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("a Guard with another cookie name accepted the value: %d", w.Code)
	}
	// Sealed with another key (another deployment): refused.
	foreign := e.guard(policy.Rule{})
	sl, err := newSealer([]byte(strings.Repeat("f", 32)))
	if err != nil {
		t.Fatal(err)
	}
	foreign.sealer = sl
	if w, id := serve(foreign, cookieRequest(authCookieName, v, false)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("a Guard with another key accepted the cookie: %d", w.Code)
	}
}

// TestSessionCookiePlainFormat: a cookie of the earlier plain format
// ("<access token>~<refresh token>") is refused — the browser logs in once — and
// its refresh token is not exchanged (so nothing is rotated or revoked by the refusal).
func TestSessionCookiePlainFormat(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid", "email")
	plain := resp.AccessToken + "~" + resp.RefreshToken
	w, id := serve(g, cookieRequest(authCookieName, plain, true))
	if id != nil || w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), testIssuer+"/authorize?") {
		t.Fatalf("plain cookie: %d %q, want a redirect to the login", w.Code, w.Header().Get("Location"))
	}
	e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	if _, id := serve(g, cookieRequest(authCookieName, plain, false)); id != nil {
		t.Fatal("expired plain cookie accepted")
	}
	if _, oerr := e.p.RefreshGrant(e.ctx, e.client, resp.RefreshToken, ""); oerr != nil {
		t.Fatalf("the plain cookie's refresh token was used by the Guard: %v", oerr)
	}
}

// TestStaleCookieOneRefresh: a client that ignores Set-Cookie sends the same cookie on and
// on, across its access token's expiry and then its successor's. Each expiry costs exactly
// one refresh — proven by the store: the successor's refresh token is still redeemable (a
// second exchange would have rotated it) — every request passes with the refreshed token's
// identity, the successor cookie is sent again at most once a second (not a rewrite per
// response), and a logout stops it at once.
func TestStaleCookieOneRefresh(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	v := browserLogin(t, e, g)
	first, _ := g.sealer.open(authCookieName, v)
	succeed := func(round int) (*Identity, string) {
		t.Helper()
		var id0 *Identity
		var set string
		sets := 0
		for i := 0; i < 50; i++ {
			r := cookieRequest(authCookieName, v, i%2 == 0)
			w, id := serve(g, r)
			if id == nil {
				t.Fatalf("round %d request %d refused: %d %s", round, i, w.Code, w.Body)
			}
			if id.Claims.ExpiresAt <= e.clk.Now().Unix() {
				t.Fatalf("round %d request %d served with an expired token", round, i)
			}
			if got := r.Header.Get("X-User-Email"); got != "alice@example.com" {
				t.Fatalf("round %d request %d: X-User-Email %q", round, i, got)
			}
			if s, ok := setCookieValue(w, authCookieName); ok {
				if s == "" || s == v || (set != "" && s != set) {
					t.Fatalf("round %d request %d: Set-Cookie %q (first %q)", round, i, s, set)
				}
				set = s
				sets++
			}
			if id0 == nil {
				id0 = id
			} else if id.Claims.ID != id0.Claims.ID {
				t.Fatalf("round %d: request %d got another access token: refreshed again", round, i)
			}
		}
		// Told the successor with the refresh, then at most once a second.
		if sets != 1 {
			t.Fatalf("round %d: the successor cookie was sent %d times within a second", round, sets)
		}
		e.clk.Advance(time.Second)
		w, id := serve(g, cookieRequest(authCookieName, v, false))
		if s, _ := setCookieValue(w, authCookieName); id == nil || id.Claims.ID != id0.Claims.ID || s != set {
			t.Fatalf("round %d: a second later the successor is not told again (%q)", round, s)
		}
		return id0, set
	}
	expire := func() {
		e.clk.Advance(e.p.AccessTokenLifetime + time.Second)
		if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
			t.Fatal(err)
		}
	}

	expire() // just past exp, inside the leeway: refreshed now, not after the leeway
	id1, set1 := succeed(1)
	if id1.Claims.ID == "" || id1.Claims.ExpiresAt == 0 {
		t.Fatal("no refreshed identity")
	}
	s1, ok := g.sealer.open(authCookieName, set1)
	if !ok || s1.RefreshToken == first.RefreshToken || s1.AccessToken == first.AccessToken {
		t.Fatal("the successor cookie does not hold new tokens")
	}
	// The successor cookie works on its own, without another refresh.
	if w, id := serve(g, cookieRequest(authCookieName, set1, false)); id == nil || id.Claims.ID != id1.Claims.ID {
		t.Fatalf("successor cookie: %d", w.Code)
	} else if _, ok := setCookieValue(w, authCookieName); ok {
		t.Fatal("the successor cookie is rewritten")
	}

	expire() // the successor expires too; the client still sends the first cookie
	id2, set2 := succeed(2)
	if id2.Claims.ID == id1.Claims.ID || set2 == set1 {
		t.Fatal("not refreshed after the successor expired")
	}
	s2, _ := g.sealer.open(authCookieName, set2)
	// One exchange per expiry: the newest refresh token has never been used.
	if _, oerr := e.p.RefreshGrant(e.ctx, e.client, s2.RefreshToken, ""); oerr != nil {
		t.Fatalf("the newest refresh token was already exchanged (a refresh per request?): %v", oerr)
	}
	// That exchange (the test's) rotated the family's token behind the Guard's back: the
	// next refresh would be a reuse and end the family — which is also what a logout does.
	if err := e.p.EndSession(e.ctx, id2.Claims.SessionID); err != nil {
		t.Fatal(err)
	}
	if w, id := serve(g, cookieRequest(authCookieName, v, false)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("superseded cookie after logout: %d", w.Code)
	}
	if w, id := serve(g, cookieRequest(authCookieName, set2, false)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("newest cookie after logout: %d", w.Code)
	}
}

// TestBearerCachedInLeeway: an access token past exp but inside the verifier's leeway is
// still valid, and a client reusing it is served from the cache, not by verifying its
// signature on every request.
func TestBearerCachedInLeeway(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid")
	e.clk.Advance(e.p.AccessTokenLifetime + time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // admitted on the second sighting
		if w, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
			t.Fatalf("request %d inside the leeway: %d", i, w.Code)
		}
	}
	if g.cache.get(resp.AccessToken, e.clk.Now()) == nil {
		t.Fatal("a token inside the leeway is not cached")
	}
	e.clk.Advance(e.p.Leeway)
	if g.cache.get(resp.AccessToken, e.clk.Now()) != nil {
		t.Fatal("cached past exp + leeway")
	}
}

// TestStaleAndFreshCookieTogether: AS-18 — when the successor's access token expires too,
// tabs still sending the superseded cookie and tabs sending the successor refresh at the same
// time: they share one exchange of the successor's refresh token (never two, which the store
// would take for a reuse and answer by revoking the family), and all get the same identity.
func TestStaleAndFreshCookieTogether(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	v := browserLogin(t, e, g)
	expire := func() {
		e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
		if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
			t.Fatal(err)
		}
	}
	expire()
	w, id := serve(g, cookieRequest(authCookieName, v, false))
	set1, _ := setCookieValue(w, authCookieName)
	if id == nil || set1 == "" {
		t.Fatalf("first refresh: %d", w.Code)
	}
	expire()
	var wg sync.WaitGroup
	ids := make([]*Identity, 16)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := v
			if i%2 == 1 {
				c = set1
			}
			_, ids[i] = serve(g, cookieRequest(authCookieName, c, false))
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id == nil {
			t.Fatalf("request %d refused: the successor's refresh token was exchanged twice?", i)
		}
		if id.Claims.ID != ids[0].Claims.ID {
			t.Fatalf("request %d got another access token than request 0: two exchanges", i)
		}
	}
	// Both cookies keep working (the family was not revoked).
	for _, c := range []string{v, set1} {
		if w, id := serve(g, cookieRequest(authCookieName, c, false)); id == nil {
			t.Fatalf("after the shared refresh: %d", w.Code)
		}
	}
}

// TestStaleCookieForgotten: a superseded cookie is followed to its successor for
// staleCookieTTL after the successor's access token expired, not for ever: later, its own
// refresh token — rotated long ago — is presented to the store, which refuses it as a reuse
// (AS-15) and the browser logs in again.
func TestStaleCookieForgotten(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	v := browserLogin(t, e, g)
	advance := func(d time.Duration) {
		e.clk.Advance(d)
		if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
			t.Fatal(err)
		}
	}
	advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
	if _, id := serve(g, cookieRequest(authCookieName, v, false)); id == nil {
		t.Fatal("first refresh refused")
	}
	advance(e.p.AccessTokenLifetime + staleCookieTTL + time.Second)
	w, id := serve(g, cookieRequest(authCookieName, v, true))
	if id != nil || w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), testIssuer+"/authorize?") {
		t.Fatalf("a superseded cookie long after its successor expired: %d, want the login", w.Code)
	}
}
