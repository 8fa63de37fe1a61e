package protect

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func serve(g *Guard, r *http.Request) (*httptest.ResponseRecorder, *Identity) {
	w := httptest.NewRecorder()
	id := g.Serve(w, r)
	return w, id
}

func bearerRequest(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, w.Body.String())
	}
	return body.Error
}

// TestGuardBearerPasses: OC-01 on the gateway side, PX-01, PX-02, PX-03, PX-04, PX-30 — a
// valid bearer token passes; the upstream request then carries exactly the identity headers
// the guard set (client-sent identity headers in any spelling are gone, a claim the user
// does not have leaves its header absent rather than passed through), no Authorization
// header, no Gatehouse cookie, and a Connection header that no longer lists them.
func TestGuardBearerPasses(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{Scopes: []string{"read"}, Audience: []string{"web"}})
	resp, _ := e.login("openid", "email", "read")

	r := bearerRequest(resp.AccessToken)
	spoofed := map[string]string{
		"X-User-Id": "admin", "X-User-Email": "ceo@corp.example", "X-User-Groups": "admins", "X-User-Name": "CEO",
		"X-Forwarded-User": "admin", "X-Forwarded-Email": "ceo@corp.example", "X-Forwarded-Groups": "admins",
		"Remote-User": "admin", "X-Remote-User": "admin", "X-Auth-Request-User": "admin", "X-Authenticated-User": "admin",
		"X-Original-Url": "/admin", "X-Http-Method-Override": "DELETE",
	}
	for k, v := range spoofed {
		r.Header.Set(k, v)
	}
	r.Header["x_user_id"] = []string{"admin"}
	r.Header["X_USER_GROUPS"] = []string{"admins"}
	r.Header["x-user-groups"] = []string{"admins", "root"}
	r.Header.Add("X-User-Id", "admin2") // duplicate
	r.Header.Set("Connection", "keep-alive, X-User-Id, X-User-Groups, X-Forwarded-For")
	// Gatehouse cookies that are not this request's credential (on https the credential is
	// __Host-gatehouse_auth) are stripped too.
	r.Header.Set("Cookie", "app=1; gatehouse_state=x; gatehouse_auth=forged; __Secure-gatehouse_x=1; theme=dark")
	r.Header.Set("X-Request-Id", "req-1")

	w, id := serve(g, r)
	if id == nil {
		t.Fatalf("valid token refused: %d %s", w.Code, w.Body)
	}
	if w.Code != http.StatusOK || w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Fatalf("guard wrote a response on success: %d %v %q", w.Code, w.Header(), w.Body)
	}
	want := http.Header{
		"X-User-Id":     {e.user.ID},
		"X-User-Email":  {"alice@example.com"},
		"X-User-Groups": {"staff,admins"},
		"Connection":    {"keep-alive, X-Forwarded-For"},
		"Cookie":        {"app=1; theme=dark"},
		"X-Request-Id":  {"req-1"},
	}
	for k, v := range r.Header {
		if w, ok := want[k]; !ok || strings.Join(w, "|") != strings.Join(v, "|") {
			t.Errorf("upstream header %s: %q (want %q)", k, v, w)
		}
	}
	for k := range want {
		if _, ok := r.Header[k]; !ok {
			t.Errorf("upstream header %s missing", k)
		}
	}
	if id.Claims.Subject != e.user.ID || id.Claims.Email != "alice@example.com" || id.SubjectValue != e.user.ID {
		t.Fatalf("identity = %+v", id.Claims)
	}
	// The same token again is admitted to the cache (second sighting), and then served from
	// it with the same result.
	if _, again := serve(g, bearerRequest(resp.AccessToken)); again == nil {
		t.Fatal("second request refused")
	} else {
		id = again
	}
	r2 := bearerRequest(resp.AccessToken)
	r2.Header.Set("X-User-Id", "admin")
	if _, id2 := serve(g, r2); id2 != id || r2.Header.Get("X-User-Id") != e.user.ID {
		t.Fatalf("cached request: identity %p vs %p, X-User-Id %q", id2, id, r2.Header.Get("X-User-Id"))
	}
	// Lower-case scheme (RFC 6750 scheme names are case-insensitive).
	r3 := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r3.Header.Set("Authorization", "bearer "+resp.AccessToken)
	if _, id3 := serve(g, r3); id3 == nil {
		t.Fatal("lower-case bearer scheme refused")
	}
}

// TestGuardProfileHeaders: with the profile scope the name header is injected; the
// placeholders for Caddy's replacer resolve (http.auth.user.id is set by module/protect.go
// from SubjectValue).
func TestGuardProfileHeaders(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, sess := e.login("openid", "profile")
	r := bearerRequest(resp.AccessToken)
	_, id := serve(g, r)
	if id == nil {
		t.Fatal("refused")
	}
	if got := r.Header.Get("X-User-Name"); got != "Alice" {
		t.Fatalf("X-User-Name = %q", got)
	}
	if _, ok := r.Header["X-User-Email"]; ok {
		t.Fatal("X-User-Email injected without the email scope")
	}
	if v, _ := id.Lookup("gatehouse.session.id"); v != sess.ID {
		t.Fatalf("session placeholder = %v", v)
	}
}

// TestGuardInsufficientScope: JW-25, RFC 6750 §3.1 — a valid token lacking the route's
// scope gets 403 insufficient_scope with a WWW-Authenticate challenge naming the scope; the
// request does not go upstream.
func TestGuardInsufficientScope(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{Scopes: []string{"write"}})
	resp, _ := e.login("openid", "read")
	w, id := serve(g, bearerRequest(resp.AccessToken))
	if id != nil || w.Code != http.StatusForbidden {
		t.Fatalf("got %d, identity %v; want 403", w.Code, id)
	}
	wa := w.Header().Get("WWW-Authenticate")
	if !strings.Contains(wa, `error="insufficient_scope"`) || !strings.Contains(wa, `scope="write"`) || !strings.HasPrefix(wa, "Bearer ") {
		t.Fatalf("WWW-Authenticate = %q", wa)
	}
	if code := errorCode(t, w); code != "insufficient_scope" {
		t.Fatalf("error = %q", code)
	}
	// A browser gets a page explaining it, still 403 and never a redirect.
	r := bearerRequest(resp.AccessToken)
	r.Header.Set("Accept", "text/html")
	w, _ = serve(g, r)
	if w.Code != http.StatusForbidden || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("browser: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	// Groups: a user in none of the route's groups gets 403 forbidden.
	g2 := e.guard(policy.Rule{Groups: []string{"auditors"}})
	w, id = serve(g2, bearerRequest(resp.AccessToken))
	if id != nil || w.Code != http.StatusForbidden || errorCode(t, w) != "forbidden" {
		t.Fatalf("wrong group: %d %s", w.Code, w.Body)
	}
}

// TestGuardNoCredential: RFC 6750 §3 — an API request without credentials gets 401 with a
// Bearer challenge and a non-cacheable JSON body; a browser without a client configured
// gets the same.
func TestGuardNoCredential(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	for name, r := range map[string]*http.Request{
		"GET json":          httptest.NewRequest(http.MethodGet, testSite+"/api", nil),
		"POST html":         withHeader(httptest.NewRequest(http.MethodPost, testSite+"/form", nil), "Accept", "text/html"),
		"Basic credentials": withHeader(httptest.NewRequest(http.MethodGet, testSite+"/api", nil), "Authorization", "Basic YTpi"),
		"empty cookie":      withHeader(httptest.NewRequest(http.MethodGet, testSite+"/api", nil), "Cookie", "__Host-gatehouse_auth="),
	} {
		t.Run(name, func(t *testing.T) {
			w, id := serve(g, r)
			if id != nil || w.Code != http.StatusUnauthorized {
				t.Fatalf("got %d; want 401", w.Code)
			}
			if wa := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(wa, `Bearer realm="gatehouse"`) {
				t.Fatalf("WWW-Authenticate = %q", wa)
			}
			if w.Header().Get("Cache-Control") != "no-store" || errorCode(t, w) != "unauthorized" {
				t.Fatalf("headers %v body %s", w.Header(), w.Body)
			}
		})
	}
	noClient := e.guard(policy.Rule{})
	noClient.ClientID = ""
	r := withHeader(httptest.NewRequest(http.MethodGet, testSite+"/page", nil), "Accept", "text/html")
	if w, _ := serve(noClient, r); w.Code != http.StatusUnauthorized {
		t.Fatalf("browser without a login client: %d", w.Code)
	}
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}

// TestGuardRejectsBadTokens: JW-01..JW-24 at the gateway — forged, foreign-type,
// wrong-audience (AS-25) and expired tokens get 401 invalid_token; ambiguous credentials
// (JW-24: two Authorization headers, a token with spaces, a bearer token and a session
// cookie together) get 400.
func TestGuardRejectsBadTokens(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	resp, _ := e.login("openid", "read")
	parts := strings.Split(resp.AccessToken, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."

	for name, tok := range map[string]string{
		"garbage":          "not-a-token",
		"alg none":         none,
		"ID token":         resp.IDToken,
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2],
		"truncated":        resp.AccessToken[:len(resp.AccessToken)-3],
	} {
		t.Run(name, func(t *testing.T) {
			w, id := serve(g, bearerRequest(tok))
			if id != nil || w.Code != http.StatusUnauthorized || errorCode(t, w) != "invalid_token" ||
				!strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("got %d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
			}
		})
	}
	t.Run("other audience", func(t *testing.T) {
		g2 := e.guard(policy.Rule{Audience: []string{"https://api.example.com"}})
		w, id := serve(g2, bearerRequest(resp.AccessToken))
		if id != nil || w.Code != http.StatusUnauthorized || errorCode(t, w) != "invalid_token" {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
	})
	for name, mod := range map[string]func(r *http.Request){
		"two Authorization headers": func(r *http.Request) { r.Header.Add("Authorization", "Bearer "+resp.AccessToken) },
		"token with a space":        func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+resp.AccessToken+" x") },
		"double space":              func(r *http.Request) { r.Header.Set("Authorization", "Bearer  "+resp.AccessToken) },
		"empty token":               func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
		"bearer and cookie":         func(r *http.Request) { r.Header.Set("Cookie", "__Host-gatehouse_auth=x") },
	} {
		t.Run(name, func(t *testing.T) {
			r := bearerRequest(resp.AccessToken)
			mod(r)
			w, id := serve(g, r)
			if id != nil || w.Code != http.StatusBadRequest || errorCode(t, w) != "invalid_request" {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		// Warm the cache first: an expired token must not be served from it either.
		if _, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
			t.Fatal("control refused")
		}
		e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
		if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
			t.Fatal(err)
		}
		w, id := serve(g, bearerRequest(resp.AccessToken))
		if id != nil || w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "expired") {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
	})
}

// TestGuardBrowserLogin: a browser navigation without a session is redirected to the
// portal's authorization endpoint with the code flow, PKCE S256 (AS-08/AS-09), state and
// nonce, its state kept in a __Host- cookie (PX-07: the redirect goes to the configured
// issuer whatever the Host); the callback checks state against that cookie (AS-27),
// exchanges the code in-process, sets the session cookie and returns to the page first
// asked for, which then passes with the user's identity.
func TestGuardBrowserLogin(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{Scopes: []string{"read"}})
	r := httptest.NewRequest(http.MethodGet, testSite+"/docs/page?x=1", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	w, id := serve(g, r)
	if id != nil || w.Code != http.StatusFound {
		t.Fatalf("got %d, want 302", w.Code)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host != testIssuer || loc.Path != "/authorize" {
		t.Fatalf("Location = %q", w.Header().Get("Location"))
	}
	q := loc.Query()
	for k, v := range map[string]string{"response_type": "code", "client_id": "web", "redirect_uri": testCallback,
		"code_challenge_method": "S256"} {
		if q.Get(k) != v {
			t.Fatalf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 {
		t.Fatalf("PKCE/state/nonce: %v", q)
	}
	if strings.Contains(q.Get("scope"), "offline_access") || !strings.Contains(q.Get("scope"), "read") {
		t.Fatalf("scope = %q", q.Get("scope"))
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("redirect is cacheable")
	}
	var state *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-gatehouse_state" {
			state = c
		}
	}
	if state == nil || !state.Secure || !state.HttpOnly || state.Path != "/" || state.SameSite != http.SameSiteLaxMode || state.Domain != "" {
		t.Fatalf("state cookie = %+v", state)
	}

	// The portal authenticates the user and redirects back with a code.
	code, _ := e.authorize(q)
	cb := func(stateValue string, cookie *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, testCallback+"?"+url.Values{"code": {code}, "state": {stateValue}, "iss": {testIssuer}}.Encode(), nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w, id := serve(g, r)
		if id != nil {
			t.Fatal("the callback went upstream")
		}
		return w
	}
	// Another browser (no state cookie), or a forged state, cannot complete it.
	if w := cb(q.Get("state"), nil); w.Code != http.StatusBadRequest {
		t.Fatalf("callback without the state cookie: %d", w.Code)
	}
	if w := cb("forged", state); w.Code != http.StatusBadRequest {
		t.Fatalf("callback with a forged state: %d", w.Code)
	}
	w = cb(q.Get("state"), state)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/docs/page?x=1" {
		t.Fatalf("callback: %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	var session *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-gatehouse_auth" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.Value == "" {
		t.Fatalf("session cookie = %+v", session)
	}
	r = httptest.NewRequest(http.MethodGet, testSite+"/docs/page?x=1", nil)
	r.AddCookie(session)
	r.Header.Set("Cookie", r.Header.Get("Cookie")+"; app=1")
	r.Header.Set("X-User-Id", "admin")
	w, id = serve(g, r)
	if id == nil {
		t.Fatalf("session cookie refused: %d %s", w.Code, w.Body)
	}
	if r.Header.Get("X-User-Id") != e.user.ID || r.Header.Get("Cookie") != "app=1" {
		t.Fatalf("upstream headers: %v", r.Header)
	}
	// Two copies of the session cookie (cookie tossing, PX-27): no session.
	r = httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r.AddCookie(session)
	r.AddCookie(session)
	if w, id := serve(g, r); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("duplicate cookie: %d", w.Code)
	}

	// Replaying the callback (an attacker who captured the URL and the old state cookie)
	// fails, and the code's reuse revokes the tokens of its first redemption (AS-07, OC-15):
	// the session cookie stops working.
	if w := cb(q.Get("state"), state); w.Code == http.StatusSeeOther {
		t.Fatal("callback replay succeeded")
	}
	r = httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r.AddCookie(session)
	if w, id := serve(g, r); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("session cookie after a code replay: %d", w.Code)
	}
}

// TestGuardRevokedSessionCached: JW-26, PX-29 (caddy-security #272) — after the session is
// ended (logout) the next request with its access token is refused even though the token's
// verification is cached; the same holds for the session cookie.
func TestGuardRevokedSessionCached(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, sess := e.login("openid", "read")
	for i := 0; i < 2; i++ { // the second request is a cache hit
		if w, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
			t.Fatalf("request %d refused: %d", i, w.Code)
		}
	}
	if g.cache.get(resp.AccessToken, e.clk.Now()) == nil {
		t.Fatal("token not cached; the test would not test the cache")
	}
	cookieVal := sealFor(t, g, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)
	cookieReq := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
		r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_auth", Value: cookieVal})
		return r
	}
	if _, id := serve(g, cookieReq()); id == nil {
		t.Fatal("cookie refused before logout")
	}
	if err := e.p.EndSession(e.ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	w, id := serve(g, bearerRequest(resp.AccessToken))
	if id != nil || w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "revoked") {
		t.Fatalf("after logout: %d %s", w.Code, w.Body)
	}
	w, id = serve(g, cookieReq())
	if id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("cookie after logout: %d", w.Code)
	}
	// The refresh token of the session is dead too.
	if _, oerr := e.p.RefreshGrant(e.ctx, e.client, resp.RefreshToken, ""); oerr == nil {
		t.Fatal("refresh token survived logout")
	}
}

// TestGuardRevokedOnAnotherInstance: a logout recorded by another instance (directly in the
// shared store) takes effect here at the next revocation-list Sync.
func TestGuardRevokedOnAnotherInstance(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, sess := e.login("openid")
	if _, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
		t.Fatal("control refused")
	}
	other := tokens.NewRevocationList(e.clk.Now, time.Minute)
	now := e.clk.Now()
	rev := storeRevocation(sess.ID, now)
	other.Add(rev)
	if err := e.store.AddRevocation(e.ctx, rev); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	if w, id := serve(g, bearerRequest(resp.AccessToken)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("after a remote logout: %d", w.Code)
	}
}

// TestGuardFailsClosed: RB-09 — when the revocation list cannot be synced (store down), the
// guard answers 503 instead of trusting tokens it can no longer check for revocation.
func TestGuardFailsClosed(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid")
	if _, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
		t.Fatal("control refused")
	}
	e.clk.Advance(61 * time.Second) // no Sync for longer than StaleAfter
	w, id := serve(g, bearerRequest(resp.AccessToken))
	if id != nil || w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("stale revocation list: %d %v", w.Code, w.Header())
	}
}

// TestRB10_GuardOutageServesSeenCredentials: "if PostgreSQL is unreachable, protected
// routes with a still-valid cached credential keep working for the token's lifetime and
// everything else fails closed with 503 - never open" (issue 15). With the revocation list
// unsynced for longer than StaleAfter, a bearer token and a session cookie issued before the
// last successful Sync keep passing until the access token expires (then 401, never
// longer); a session revoked before the outage stays refused; a token issued after the last
// Sync gets 503.
func TestRB10_GuardOutageServesSeenCredentials(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid", "offline_access")
	revoked, sess2 := e.login("openid")
	cookie := sealFor(t, g, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)
	withCookie := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
		r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_auth", Value: cookie})
		return r
	}
	if err := e.store.AddRevocation(e.ctx, storeRevocation(sess2.ID, e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil { // the last Sync before the outage
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	late, _ := e.login("openid")    // issued after the last Sync (by an instance that still reaches the store)
	e.clk.Advance(60 * time.Second) // no Sync for longer than StaleAfter
	if w, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
		t.Fatalf("bearer token seen live before the outage: %d, want served", w.Code)
	}
	if w, id := serve(g, withCookie()); id == nil {
		t.Fatalf("session cookie seen live before the outage: %d, want served", w.Code)
	}
	if w, id := serve(g, bearerRequest(revoked.AccessToken)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("session revoked before the outage: %d, want 401", w.Code)
	}
	if w, id := serve(g, bearerRequest(late.AccessToken)); id != nil || w.Code != http.StatusServiceUnavailable ||
		w.Header().Get("Retry-After") == "" {
		t.Fatalf("token issued after the last Sync: %d %v, want 503 with Retry-After", w.Code, w.Header())
	}
	// Past the token's own expiry (and the leeway) the outage grants nothing more.
	e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway)
	if w, id := serve(g, bearerRequest(resp.AccessToken)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("expired bearer token during the outage: %d, want 401", w.Code)
	}
}

// TestGuardRefreshesExpiredCookie: an expired access token in the session cookie is
// refreshed in-process and a new cookie set; parallel requests carrying the same old cookie
// share one refresh instead of tripping refresh-token reuse detection (AS-18).
func TestGuardRefreshesExpiredCookie(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid", "email", "offline_access")
	old := sealFor(t, g, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)
	e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]*httptest.ResponseRecorder, 8)
	ids := make([]*Identity, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
			r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_auth", Value: old})
			results[i], ids[i] = serve(g, r)
		}()
	}
	wg.Wait()
	var newCookie string
	for i, w := range results {
		if ids[i] == nil {
			t.Fatalf("request %d with an expired but refreshable cookie refused: %d %s", i, w.Code, w.Body)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == "__Host-gatehouse_auth" && c.Value != "" {
				if newCookie != "" && c.Value != newCookie {
					t.Fatal("parallel requests got different successor cookies: the refresh ran twice")
				}
				newCookie = c.Value
			}
		}
	}
	if newCookie == "" {
		t.Fatal("no new session cookie set")
	}
	if ids[0].Claims.ExpiresAt <= e.clk.Now().Unix() {
		t.Fatal("identity from an expired token")
	}
	// The new cookie works on its own.
	r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_auth", Value: newCookie})
	if _, id := serve(g, r); id == nil {
		t.Fatal("refreshed cookie refused")
	}
}

// TestGuardLogout: PX-23, PX-29 — GET on the logout endpoint only shows a confirmation form
// (a cross-site image cannot log out); POST with the form's CSRF token ends the portal
// session, which revokes the tokens at once; a POST without the token is refused.
func TestGuardLogout(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid")
	cookieVal := sealFor(t, g, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)
	cookie := &http.Cookie{Name: "__Host-gatehouse_auth", Value: cookieVal}

	r := httptest.NewRequest(http.MethodGet, testSite+DefaultLogoutPath, nil)
	r.AddCookie(cookie)
	w, _ := serve(g, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="csrf_token"`) {
		t.Fatalf("GET logout: %d %s", w.Code, w.Body)
	}
	if _, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
		t.Fatal("GET logout ended the session")
	}
	body := w.Body.String()
	// Issue 14 item 8: the site's confirmation is branded like the portal's and has a Cancel
	// back to the site (PX-19: a local return_to only).
	if !strings.Contains(body, `<p class="brand">Gatehouse</p>`) || !strings.Contains(body, `<a href="/" data-cancel>Cancel</a>`) {
		t.Errorf("GET logout: no brand or no Cancel to /:\n%s", body)
	}
	for q, want := range map[string]string{"?return_to=%2Fdocs%3Fa%3D1": "/docs?a=1", "?return_to=%2F%2Fevil.test": "/",
		"?return_to=https%3A%2F%2Fevil.test%2F": "/"} {
		r := httptest.NewRequest(http.MethodGet, testSite+DefaultLogoutPath+q, nil)
		r.AddCookie(cookie)
		w, _ := serve(g, r)
		if want := `<a href="` + html.EscapeString(want) + `" data-cancel>`; !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET logout%s: want %s in\n%s", q, want, w.Body)
		}
	}
	i := strings.Index(body, `name="csrf_token" value="`) + len(`name="csrf_token" value="`)
	csrf := body[i : i+strings.IndexByte(body[i:], '"')]

	post := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, testSite+DefaultLogoutPath, strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(cookie)
		w, _ := serve(g, r)
		return w
	}
	if w := post("forged"); w.Code != http.StatusForbidden {
		t.Fatalf("POST with a forged CSRF token: %d", w.Code)
	}
	if _, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
		t.Fatal("a forged logout ended the session")
	}
	w = post(csrf)
	// The portal's logged-out page names this site's client: its "log in again" comes back
	// here (issue 14 item 8).
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != testIssuer+"/logout?client_id=web" {
		t.Fatalf("POST logout: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w, id := serve(g, bearerRequest(resp.AccessToken)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("token after logout: %d", w.Code)
	}
}

// TestGuardRedirectSafety: PX-07 — a request whose Host is not a registered site gets an
// error page, never a redirect carrying an attacker's callback (the redirect URI is
// matched exactly by the provider); PX-19 — the page a login returns to is a local path:
// a protocol-relative or backslash request target comes back to "/".
func TestGuardRedirectSafety(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	r := httptest.NewRequest(http.MethodGet, "https://evil.example/docs", nil)
	r.Header.Set("Accept", "text/html")
	w, _ := serve(g, r)
	if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
		t.Fatalf("unregistered Host: %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	// Protocol-relative and backslash targets are not canonical paths: refused with 400
	// before any redirect is considered (PX-13), so they never become a return address.
	for _, target := range []string{"//evil.example/x", "/%2F%2Fevil.example", "/\\evil.example"} {
		r := httptest.NewRequest(http.MethodGet, testSite+"/", nil)
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		r.URL, r.RequestURI = u, target
		r.Header.Set("Accept", "text/html")
		w, _ := serve(g, r)
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || len(w.Result().Cookies()) != 0 {
			t.Fatalf("%s: %d, Location %q, cookies %v", target, w.Code, w.Header().Get("Location"), w.Result().Cookies())
		}
	}
	for target, want := range map[string]string{
		"/docs?a=1":         "/docs?a=1",
		"/.gatehouse/other": "/",
	} {
		r := httptest.NewRequest(http.MethodGet, testSite+"/", nil)
		u, err := url.ParseRequestURI(target) // as the server parses the request line
		if err != nil {
			t.Fatal(err)
		}
		r.URL, r.RequestURI = u, target
		r.Header.Set("Accept", "text/html")
		w, _ := serve(g, r)
		if w.Code != http.StatusFound {
			t.Fatalf("%s: %d", target, w.Code)
		}
		var state *http.Cookie
		for _, c := range w.Result().Cookies() {
			if c.Name == "__Host-gatehouse_state" {
				state = c
			}
		}
		var list []pendingLogin
		if state == nil || g.codec.Decode("gatehouse_state", state.Value, &list) != nil || len(list) != 1 {
			t.Fatalf("%s: state cookie %+v", target, state)
		}
		if list[0].ReturnTo != want {
			t.Fatalf("%s: returns to %q, want %q", target, list[0].ReturnTo, want)
		}
	}
}

// TestGuardAudienceOfItsClient: JW-13, AS-25 — the route of a site whose gatehouse_protect
// names no audience is bound to its client (module/protect.go: the audience defaults to the
// client, the only one of the app when none is named): an access token the same issuer
// signed for another client or resource is refused, the site's own is accepted.
func TestGuardAudienceOfItsClient(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	resp, _ := e.login("openid", "read")
	if _, id := serve(g, bearerRequest(resp.AccessToken)); id == nil {
		t.Fatal("control: the client's own token is refused")
	}
	key, err := e.ring.Signer(keys.RS256)
	if err != nil {
		t.Fatal(err)
	}
	for _, aud := range [][]string{{"partner"}, {"https://api.example.com"}} {
		c := *resp.Claims
		c.Audience, c.ClientID, c.ID = aud, aud[0], "other-"+aud[0]
		tok, err := tokens.Sign(key, tokens.TypeAccessToken, &c)
		if err != nil {
			t.Fatal(err)
		}
		if w, id := serve(g, bearerRequest(tok)); id != nil || w.Code != http.StatusUnauthorized {
			t.Fatalf("token for %v: %d, want 401", aud, w.Code)
		}
	}
}
