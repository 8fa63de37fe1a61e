package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The origin of the public client cli's redirect URI (idptest.CliCB).
const cliOrigin = "http://127.0.0.1:8765"

// corsReq is a request with an Origin header (none if origin is empty).
func corsReq(method, path, origin string, form url.Values) *http.Request {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return r
}

// preflight is a CORS-preflight request (Fetch §4.8): OPTIONS with
// Access-Control-Request-Method and -Headers.
func preflight(path, origin, method, headers string) *http.Request {
	r := corsReq(http.MethodOptions, path, origin, nil)
	r.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

// wantCORS checks the CORS answer: Access-Control-Allow-Origin is acao ("" for none), never
// with Allow-Credentials, and Vary names Origin.
func wantCORS(t *testing.T, name string, w *httptest.ResponseRecorder, acao string) {
	t.Helper()
	h := w.Header()
	if got := h.Get("Access-Control-Allow-Origin"); got != acao {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", name, got, acao)
	}
	if got := h.Values("Access-Control-Allow-Origin"); len(got) > 1 {
		t.Errorf("%s: %d Access-Control-Allow-Origin headers", name, len(got))
	}
	if got := h.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("%s: Access-Control-Allow-Credentials %q: these endpoints take no cookies", name, got)
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("%s: Vary %q does not name Origin (the answer depends on it)", name, h.Values("Vary"))
	}
}

// AS-21 (strict CORS: never an arbitrary Origin reflected, never with credentials). Fetch §4.8
// (CORS-preflight fetch): the browser sends OPTIONS with
// Access-Control-Request-Method; it goes on only with an ok status (2xx) and
// Access-Control-Allow-Origin equal to its origin (never "*" here), the method listed in
// Allow-Methods and each non-safelisted request header in Allow-Headers. A public client's
// page (origin of its redirect URI) gets all of that on /token, /revoke and /userinfo; an
// unknown origin, a look-alike (other port, scheme, trailing slash), "null" and a method the
// endpoint does not take get 204 without CORS headers, which the browser treats as a network
// error. The introspection endpoint (resource servers, with a secret) has no CORS at all.
func TestCORSPreflight(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{PathToken, PathRevoke} {
		w := e.do(preflight(path, cliOrigin, "POST", "content-type"))
		if w.Code != http.StatusNoContent {
			t.Fatalf("preflight %s: %d, want 204", path, w.Code)
		}
		wantCORS(t, "preflight "+path, w, cliOrigin)
		h := w.Header()
		if h.Get("Access-Control-Allow-Methods") != "POST" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
			h.Get("Access-Control-Max-Age") == "" || w.Body.Len() != 0 {
			t.Errorf("preflight %s: methods %q headers %q max-age %q body %q", path, h.Get("Access-Control-Allow-Methods"),
				h.Get("Access-Control-Allow-Headers"), h.Get("Access-Control-Max-Age"), w.Body)
		}
		for _, bad := range []string{"https://evil.test", "http://127.0.0.1:8766", "https://127.0.0.1:8765", cliOrigin + "/",
			"null", "http://localhost:8765", "https://rp.test" /* a confidential client's */} {
			w := e.do(preflight(path, bad, "POST", "content-type"))
			if w.Code != http.StatusNoContent {
				t.Errorf("preflight %s from %s: %d, want 204 (without CORS headers)", path, bad, w.Code)
			}
			wantCORS(t, "preflight "+path+" from "+bad, w, "")
			if m := w.Header().Get("Access-Control-Allow-Methods"); m != "" {
				t.Errorf("preflight %s from %s: Allow-Methods %q", path, bad, m)
			}
		}
		w = e.do(preflight(path, cliOrigin, "PUT", ""))
		if w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight %s for PUT: CORS headers %v", path, w.Header())
		}
		// OPTIONS without Origin (not a preflight): 204 with Allow, not 405.
		w = e.do(corsReq(http.MethodOptions, path, "", nil))
		if w.Code != http.StatusNoContent || w.Header().Get("Allow") != "OPTIONS, POST" {
			t.Errorf("OPTIONS %s: %d, Allow %q", path, w.Code, w.Header().Get("Allow"))
		}
	}
	w := e.do(preflight(PathUserinfo, cliOrigin, "GET", "authorization"))
	wantCORS(t, "preflight /userinfo", w, cliOrigin)
	if h := w.Header(); w.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Methods") != "GET, POST" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight /userinfo: %d %v", w.Code, h)
	}
	wantCORS(t, "preflight /userinfo from evil", e.do(preflight(PathUserinfo, "https://evil.test", "GET", "authorization")), "")

	w = e.do(preflight(PathIntrospect, cliOrigin, "POST", "authorization"))
	if acao := w.Header().Get("Access-Control-Allow-Origin"); acao != "" || w.Code/100 == 2 {
		t.Errorf("preflight /introspect: %d, Access-Control-Allow-Origin %q; introspection has no CORS", w.Code, acao)
	}
}

// AS-21: a public SPA's code + PKCE exchange, refresh and revocation from its page (Fetch §3.2.5:
// the actual response's Access-Control-Allow-Origin must match the request's Origin): each
// answer names the page's origin, with Vary: Origin and without Allow-Credentials, errors
// included. The same requests from an unknown origin are processed (a form POST is a simple
// request: nothing in it is ambient, the endpoint takes no cookie) but their answers carry no
// Access-Control-Allow-Origin, so the page cannot read them; a confidential client's answers
// are never readable from a page, not even from a public client's origin; requests without
// Origin (server-side RPs) still get Vary: Origin and no CORS headers.
func TestCORSPublicClientFlow(t *testing.T) {
	e := newEnv(t)
	v, ch := idptest.PKCE()
	code := e.authorize(idptest.AuthQuery("cli", idptest.CliCB, ch, "openid", "offline_access"))
	w := e.do(corsReq(http.MethodPost, PathToken, cliOrigin, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {idptest.CliCB}, "code_verifier": {v}, "client_id": {"cli"}}))
	wantCORS(t, "code exchange", w, cliOrigin)
	tok := decode(t, w)
	rt, _ := tok["refresh_token"].(string)

	// The refresh from an unknown origin is processed, unreadable.
	w = e.do(corsReq(http.MethodPost, PathToken, "https://evil.test", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {"cli"}}))
	wantCORS(t, "refresh from evil", w, "")
	rt, _ = decode(t, w)["refresh_token"].(string)

	w = e.do(corsReq(http.MethodPost, PathToken, cliOrigin, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {"cli"}}))
	wantCORS(t, "refresh", w, cliOrigin)
	tok = decode(t, w)
	rt, _ = tok["refresh_token"].(string)
	at, _ := tok["access_token"].(string)

	r := corsReq(http.MethodGet, PathUserinfo, cliOrigin, nil)
	r.Header.Set("Authorization", "Bearer "+at)
	w = e.do(r)
	wantCORS(t, "userinfo", w, cliOrigin)
	decode(t, w)

	w = e.do(corsReq(http.MethodPost, PathRevoke, cliOrigin, url.Values{"token": {rt}, "client_id": {"cli"}}))
	wantCORS(t, "revoke", w, cliOrigin)
	if w.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	// An error is readable too (the page must see invalid_grant to log in again).
	w = e.do(corsReq(http.MethodPost, PathToken, cliOrigin, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {"cli"}}))
	wantCORS(t, "refresh after revoke", w, cliOrigin)
	oauthError(t, w, http.StatusBadRequest, codeInvalidGrant)
	// An unknown client's error, before any client is known: readable by a public client's page.
	w = e.do(corsReq(http.MethodPost, PathToken, cliOrigin, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {"x"}, "client_id": {"nobody"}}))
	wantCORS(t, "unknown client", w, cliOrigin)
	oauthError(t, w, http.StatusUnauthorized, codeInvalidClient)

	// A confidential client: no page may read its answers, whatever the origin.
	for _, o := range []string{cliOrigin, "https://rp.test"} {
		r := corsReq(http.MethodPost, PathToken, o, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
		r.Header.Set("Authorization", basic("web", idptest.WebSecret))
		wantCORS(t, "confidential client from "+o, e.do(r), "")
		r = corsReq(http.MethodPost, PathRevoke, o, url.Values{"token": {"x"}})
		r.Header.Set("Authorization", basic("web", idptest.WebSecret))
		wantCORS(t, "confidential revoke from "+o, e.do(r), "")
	}
	// No Origin: a server-side RP; no CORS headers, Vary still set (a cache must not serve
	// this answer to a page).
	w = e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "web", idptest.WebSecret)
	wantCORS(t, "no Origin", w, "")
	// Introspection: no CORS even for a public client's origin.
	r = corsReq(http.MethodPost, PathIntrospect, cliOrigin, url.Values{"token": {"x"}})
	r.Header.Set("Authorization", basic("web", idptest.WebSecret))
	if acao := e.do(r).Header().Get("Access-Control-Allow-Origin"); acao != "" {
		t.Errorf("introspection: Access-Control-Allow-Origin %q", acao)
	}
}

// Discovery and JWKS are public documents without credentials: "*" (Fetch §3.2.5 allows it
// when the request's credentials mode is not "include"; no Allow-Credentials is ever sent).
func TestCORSPublicDocuments(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{PathDiscovery, PathJWKS} {
		w := e.do(corsReq(http.MethodGet, path, "https://anyone.test", nil))
		if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: %d, CORS headers %v", path, w.Code, w.Header())
		}
	}
}

// A public client kept in the store (not in the configuration) allows its redirect URIs'
// origins at once on /token and /revoke — the answer is decided by the authenticated client,
// even while the list of stored clients' origins that preflights use is still the one built
// before the client existed (rebuilt at most once a minute on a miss).
func TestCORSStoredClient(t *testing.T) {
	e := newEnv(t)
	const dyn = "https://dyn.test"
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"dyn"}}
	// A miss builds the stored clients' origins without dyn.
	wantCORS(t, "before registration", e.do(corsReq(http.MethodPost, PathToken, dyn, form)), "")
	if err := e.Store.CreateClient(e.Ctx, store.Client{ID: "dyn", RedirectURIs: []string{dyn + "/cb"}}); err != nil {
		t.Fatal(err)
	}
	w := e.do(corsReq(http.MethodPost, PathToken, dyn, form))
	wantCORS(t, "stored client", w, dyn)
	oauthError(t, w, http.StatusBadRequest, codeInvalidGrant)
	wantCORS(t, "stored client revoke", e.do(corsReq(http.MethodPost, PathRevoke, dyn, url.Values{"token": {"x"}, "client_id": {"dyn"}})), dyn)
	// Another client's origin on dyn's request: unreadable.
	wantCORS(t, "other origin", e.do(corsReq(http.MethodPost, PathToken, cliOrigin, form)), "")
}
