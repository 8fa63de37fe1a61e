package protect

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// fwdRequest is nginx's auth_request subrequest for the client request method uri on
// app.test, as the README's snippet sets it up.
func fwdRequest(method, uri string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9091/auth", nil)
	r.Header.Set("X-Original-Method", method)
	r.Header.Set("X-Original-URI", uri)
	r.Header.Set("X-Forwarded-Host", "app.test")
	r.Header.Set("X-Forwarded-Proto", "https")
	return r
}

func newForward(e *env, rule policy.Rule, trusted bool) *ForwardAuth {
	return &ForwardAuth{Guard: e.guard(rule), Trusted: func(*http.Request) bool { return trusted }}
}

// TestPX01_ForwardAuthAnswers: the forward-auth endpoint answers for the original request
// that the trusted proxy describes: 200 with the identity headers (never the client's own
// copies), 403 when the policy denies, 401 with the login target for a browser.
func TestPX01_ForwardAuthAnswers(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.login("openid", "email", "read")
	f := newForward(e, policy.Rule{Scopes: []string{"read"}, Audience: []string{"web"}}, true)

	r := fwdRequest(http.MethodGet, "/docs?x=1")
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	r.Header.Set("X-User-Email", "ceo@corp.example")
	w := httptest.NewRecorder()
	f.Serve(w, r)
	if w.Code != http.StatusOK || w.Header().Get("X-User-Email") != "alice@example.com" || w.Header().Get("X-User-Id") != e.user.ID {
		t.Fatalf("valid token: %d %v", w.Code, w.Header())
	}

	// The policy denies: 403 (nginx answers the client 403).
	deny := newForward(e, policy.Rule{Scopes: []string{"write"}, Audience: []string{"web"}}, true)
	r = fwdRequest(http.MethodGet, "/docs")
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	w = httptest.NewRecorder()
	deny.Serve(w, r)
	if w.Code != http.StatusForbidden || w.Header().Get("X-User-Email") != "" {
		t.Fatalf("denied: %d %v", w.Code, w.Header())
	}

	// A browser without a session: 401 carrying where to log in, and the login state cookie.
	r = fwdRequest(http.MethodGet, "/docs")
	r.Header.Set("Accept", "text/html")
	w = httptest.NewRecorder()
	f.Serve(w, r)
	loc := w.Header().Get(LoginLocationHeader)
	if w.Code != http.StatusUnauthorized || !strings.HasPrefix(loc, testIssuer) || w.Header().Get("Set-Cookie") == "" ||
		!strings.Contains(loc, "redirect_uri=https%3A%2F%2Fapp.test%2F.gatehouse%2Fcallback") {
		t.Fatalf("browser login: %d location %q cookie %q", w.Code, loc, w.Header().Get("Set-Cookie"))
	}
	// An API client: 401 with the RFC 6750 challenge.
	w = httptest.NewRecorder()
	f.Serve(w, fwdRequest(http.MethodGet, "/docs"))
	if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") || w.Header().Get(LoginLocationHeader) != "" {
		t.Fatalf("api client: %d %v", w.Code, w.Header())
	}

	// Traefik: its ForwardAuth passes the redirect to the browser as it is.
	r = httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9091/auth", nil)
	r.Header.Set("X-Forwarded-Method", "GET")
	r.Header.Set("X-Forwarded-Uri", "/docs")
	r.Header.Set("X-Forwarded-Host", "app.test")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("Accept", "text/html")
	w = httptest.NewRecorder()
	f.Serve(w, r)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), testIssuer) {
		t.Fatalf("traefik browser: %d %v", w.Code, w.Header())
	}
}

// TestPX13_ForwardAuthCanonicalPath: the original URI passes the same canonical-path check as
// a request to gatehouse_protect (PX-13); nginx only accepts 401 and 403 from auth_request, so
// the refusal is 403.
func TestPX13_ForwardAuthCanonicalPath(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.login("openid", "email", "read")
	f := newForward(e, policy.Rule{Audience: []string{"web"}}, true)
	for _, uri := range []string{"/public/../admin", "/public/..%2fadmin", "/a;b/admin", "/%2e%2e/admin"} {
		r := fwdRequest(http.MethodGet, uri)
		r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
		w := httptest.NewRecorder()
		f.Serve(w, r)
		if w.Code != http.StatusForbidden || w.Header().Get("X-User-Id") != "" {
			t.Errorf("%s: %d %v", uri, w.Code, w.Header())
		}
	}
}

// TestPX07_ForwardAuthUntrustedOrMalformed: the original-request headers count only from a
// trusted proxy (PX-07, PX-06): anyone else gets 403 and no identity, even with a valid token;
// a trusted proxy that sends them malformed or twice gets 400, never a guess.
func TestPX07_ForwardAuthUntrustedOrMalformed(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.login("openid", "email", "read")
	untrusted := newForward(e, policy.Rule{Audience: []string{"web"}}, false)
	r := fwdRequest(http.MethodGet, "/docs")
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	w := httptest.NewRecorder()
	untrusted.Serve(w, r)
	if w.Code != http.StatusForbidden || w.Header().Get("X-User-Id") != "" {
		t.Fatalf("untrusted caller: %d %v", w.Code, w.Header())
	}

	f := newForward(e, policy.Rule{Audience: []string{"web"}}, true)
	bad := map[string]func(*http.Request){
		"no uri":       func(r *http.Request) { r.Header.Del("X-Original-URI") },
		"no host":      func(r *http.Request) { r.Header.Del("X-Forwarded-Host") },
		"two uris":     func(r *http.Request) { r.Header.Add("X-Original-URI", "/admin") },
		"absolute uri": func(r *http.Request) { r.Header.Set("X-Original-URI", "http://evil.test/docs") },
		"scheme-less":  func(r *http.Request) { r.Header.Set("X-Original-URI", "//evil.test/docs") },
		"bad method":   func(r *http.Request) { r.Header.Set("X-Original-Method", "GET /x") },
		"bad proto":    func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "gopher") },
		"host with at": func(r *http.Request) { r.Header.Set("X-Forwarded-Host", "app.test@evil.test") },
		"two hosts":    func(r *http.Request) { r.Header.Add("X-Forwarded-Host", "evil.test") },
		"host with /":  func(r *http.Request) { r.Header.Set("X-Forwarded-Host", "evil.test/x") },
	}
	for name, edit := range bad {
		r := fwdRequest(http.MethodGet, "/docs")
		r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
		edit(r)
		w := httptest.NewRecorder()
		f.Serve(w, r)
		if w.Code != http.StatusBadRequest || w.Header().Get("X-User-Id") != "" {
			t.Errorf("%s: %d %v", name, w.Code, w.Header())
		}
	}
}

// TestForwardAuthCarriesTheAssertion: with `assertion` on a forward-auth route, the 200
// answer carries the signed identity assertion for the ORIGINAL request (the method and path
// the trusted proxy described), so apps behind nginx can verify it like apps behind Caddy.
func TestForwardAuthCarriesTheAssertion(t *testing.T) {
	e, g, ar, _ := assertEnv(t, time.Minute)
	resp, _ := e.login("openid", "email")
	f := &ForwardAuth{Guard: g, Trusted: func(*http.Request) bool { return true }}
	r := fwdRequest(http.MethodGet, "/docs?x=1")
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	r.Header.Set(g.Assertion.Header, "forged")
	w := httptest.NewRecorder()
	f.Serve(w, r)
	tok := w.Header().Get(g.Assertion.Header)
	if w.Code != http.StatusOK || tok == "" || tok == "forged" {
		t.Fatalf("forward auth with assertion: %d, assertion %q", w.Code, tok)
	}
	parts := strings.Split(tok, ".")
	if len(ar.JWKS()) == 0 || len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Req string `json:"req"`
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("GET /docs"))
	if claims.Req != base64.RawURLEncoding.EncodeToString(sum[:]) || claims.Sub != e.user.ID {
		t.Fatalf("the assertion is not bound to the original request GET /docs of the user: %s", payload)
	}
}

// TestPX07_ForwardAuthTraefikSpoofedOriginal: Traefik's ForwardAuth passes the client's
// headers on and sets only X-Forwarded-Method/-Uri/-Host/-Proto; a client-sent
// X-Original-URI must not choose the path judged. Both sets at once are refused, never
// judged on the client's choice.
func TestPX07_ForwardAuthTraefikSpoofedOriginal(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.login("openid", "email", "read")
	f := newForward(e, policy.Rule{Scopes: []string{"read"}, Audience: []string{"web"}}, true)
	r := httptest.NewRequest(http.MethodGet, "http://auth.test/", nil)
	r.Header.Set("X-Forwarded-Method", http.MethodDelete)
	r.Header.Set("X-Forwarded-Uri", "/a/../admin")
	r.Header.Set("X-Forwarded-Host", "app.test")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Original-URI", "/docs") // the client's
	r.Header.Set("X-Original-Method", http.MethodGet)
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	w := httptest.NewRecorder()
	f.Serve(w, r)
	if w.Code == http.StatusOK || w.Header().Get("X-User-Email") != "" {
		t.Fatalf("a client-sent X-Original-URI behind Traefik was judged: %d %v", w.Code, w.Header())
	}
}
