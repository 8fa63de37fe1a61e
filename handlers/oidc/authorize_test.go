package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// RFC 6749 §4.1.2.1: "If the request fails due to a missing, invalid, or mismatching
// redirection URI, or if the client identifier is missing or invalid, the authorization
// server SHOULD inform the resource owner of the error and MUST NOT automatically redirect
// the user-agent to the invalid redirection URI." So do repeated parameters (§3.1), which
// make even the redirect URI ambiguous.
func TestAuthorizeUntrustedRequestDoesNotRedirect(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	for name, mod := range map[string]func(url.Values){
		"unregistered redirect_uri":                    func(q url.Values) { q.Set("redirect_uri", "https://attacker.test/cb") },
		"redirect_uri prefix":                          func(q url.Values) { q.Set("redirect_uri", idptest.WebCB+"/more") },
		"missing redirect_uri with several registered": func(q url.Values) { q.Del("redirect_uri") },
		"unknown client_id":                            func(q url.Values) { q.Set("client_id", "nope") },
		"missing client_id":                            func(q url.Values) { q.Del("client_id") },
		"repeated client_id":                           func(q url.Values) { q.Add("client_id", "web") },
		"repeated redirect_uri":                        func(q url.Values) { q.Add("redirect_uri", "https://attacker.test/cb") },
		"overlong state":                               func(q url.Values) { q.Set("state", strings.Repeat("s", 5000)) },
	} {
		t.Run(name, func(t *testing.T) {
			q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
			mod(q)
			w := e.do(e.loggedIn(PathAuthorize + "?" + q.Encode()))
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want 400 and no redirect", w.Code, w.Header().Get("Location"))
			}
		})
	}
}

// RFC 6749 §4.1.2.1: once the client and redirect URI are validated, errors go to the
// redirect URI with error and the request's state; RFC 9207 §2: with iss. OIDC Core
// §3.1.2.6 and §6.1 name request_not_supported and request_uri_not_supported; RFC 8707 §2
// invalid_target; RFC 7636 §4.4.1: a public client without PKCE → invalid_request. When a
// request has several faults, the first in the order of the parameters' checks wins
// (pinned here so that the parsing and the domain's validation keep their order).
func TestAuthorizeErrorsRedirectWithStateAndIss(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	for _, tc := range []struct {
		name   string
		client string
		mod    func(url.Values)
		code   string
	}{
		{"missing response_type", "web", func(q url.Values) { q.Del("response_type") }, codeInvalidRequest},
		{"implicit", "web", func(q url.Values) { q.Set("response_type", "token") }, codeUnsupportedResponse},
		{"hybrid", "web", func(q url.Values) { q.Set("response_type", "code id_token") }, codeUnsupportedResponse},
		{"response_mode fragment", "web", func(q url.Values) { q.Set("response_mode", "fragment") }, codeInvalidRequest},
		{"request object", "web", func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, codeRequestNotSupported},
		{"request_uri", "web", func(q url.Values) { q.Set("request_uri", "https://rp.test/ro") }, codeRequestURINotSupported},
		{"scope not allowed", "web", func(q url.Values) { q.Set("scope", "openid admin") }, codeInvalidScope},
		{"public client without PKCE", "cli", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, codeInvalidRequest},
		{"plain PKCE", "web", func(q url.Values) { q.Set("code_challenge_method", "plain") }, codeInvalidRequest},
		{"unknown prompt", "web", func(q url.Values) { q.Set("prompt", "sudo") }, codeInvalidRequest},
		{"max_age word", "web", func(q url.Values) { q.Set("max_age", "soon") }, codeInvalidRequest},
		{"max_age negative", "web", func(q url.Values) { q.Set("max_age", "-1") }, codeInvalidRequest},
		{"claims not JSON", "web", func(q url.Values) { q.Set("claims", "{") }, codeInvalidRequest},
		{"claims unknown member", "web", func(q url.Values) { q.Set("claims", `{"id_token":{"sub":{"valu":"x"}}}`) }, codeInvalidRequest},
		{"resource not registered", "web", func(q url.Values) { q.Set("resource", "https://api.test") }, codeInvalidTarget},
		{"resource with fragment", "web", func(q url.Values) { q.Set("resource", "https://api.test/#x") }, codeInvalidTarget},
		// The order of the checks.
		{"scope before max_age", "web", func(q url.Values) { q.Set("scope", "admin"); q.Set("max_age", "soon") }, codeInvalidScope},
		{"response_type before claims", "web", func(q url.Values) { q.Set("response_type", "token"); q.Set("claims", "{") }, codeUnsupportedResponse},
		{"max_age before resource", "web", func(q url.Values) { q.Set("max_age", "soon"); q.Set("resource", "https://api.test") }, codeInvalidRequest},
		{"claims before resource", "web", func(q url.Values) { q.Set("claims", "[]"); q.Set("resource", "https://api.test") }, codeInvalidRequest},
		{"prompt before max_age", "web", func(q url.Values) { q.Set("prompt", "sudo"); q.Set("max_age", "x") }, codeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb := idptest.WebCB
			if tc.client == "cli" {
				cb = idptest.CliCB
			}
			q := idptest.AuthQuery(tc.client, cb, ch, "openid")
			tc.mod(q)
			w := e.do(e.loggedIn(PathAuthorize + "?" + q.Encode()))
			if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, cb+"?") {
				t.Fatalf("Location %q, want the redirect URI %s", loc, cb)
			}
			got := redirectParams(t, w)
			if got.Get("error") != tc.code || got.Get("state") != "st" || got.Get("iss") != idptest.Issuer || got.Has("code") {
				t.Fatalf("redirect %v, want error %s with state st and iss", got, tc.code)
			}
		})
	}
}

// Where two faults of a request have the same code, the description tells which check came
// first: prompt before max_age, max_age before claims (the parameters' order in OIDC Core
// §3.1.2.1, as the endpoint always checked them).
func TestAuthorizeFirstFaultWins(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("prompt", "sudo")
	q.Set("max_age", "x")
	got := redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode())))
	if d := got.Get("error_description"); !strings.Contains(d, "prompt") {
		t.Fatalf("description %q, want the prompt fault (checked before max_age)", d)
	}
	q = idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("max_age", "x")
	q.Set("claims", "{")
	got = redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode())))
	if d := got.Get("error_description"); !strings.Contains(d, "max_age") {
		t.Fatalf("description %q, want the max_age fault (checked before claims)", d)
	}
}

// OIDC Core §3.1.2.6: prompt=none without a session → login_required at the redirect URI;
// §3.1.2.3: without prompt=none the user is sent to log in, and the request resumes after.
func TestAuthorizeWithoutSession(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("prompt", "none")
	got := redirectParams(t, e.do(httptest.NewRequest(http.MethodGet, PathAuthorize+"?"+q.Encode(), nil)))
	if got.Get("error") != codeLoginRequired || got.Get("state") != "st" {
		t.Fatalf("prompt=none without a session: %v", got)
	}
	q.Del("prompt")
	w := e.do(httptest.NewRequest(http.MethodGet, PathAuthorize+"?"+q.Encode(), nil))
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc.Path != PathLogin || !strings.HasPrefix(loc.Query().Get("return_to"), PathAuthorize+"?") {
		t.Fatalf("no session: %d Location %q, want the login page resuming the request", w.Code, loc)
	}
}

// OIDC Core §3.1.2.5 and RFC 9207 §2: a successful authorization response carries the
// code, the request's state and iss; an invalid id_token_hint is an error at the redirect
// URI (OIDC Core §3.1.2.2).
func TestAuthorizeSuccess(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	got := redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode())))
	if got.Get("code") == "" || got.Get("state") != "st" || got.Get("iss") != idptest.Issuer || got.Has("error") {
		t.Fatalf("authorization response %v", got)
	}
	q.Set("id_token_hint", "not.a.jwt")
	got = redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode())))
	if got.Get("error") != codeInvalidRequest {
		t.Fatalf("invalid id_token_hint: %v", got)
	}
	// RFC 6749 §3.1: the endpoint supports GET, and OIDC Core §3.1.2.1 POST; nothing else.
	w := e.do(httptest.NewRequest(http.MethodPut, PathAuthorize, nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Location") != "" {
		t.Fatalf("PUT /authorize: %d", w.Code)
	}
}
