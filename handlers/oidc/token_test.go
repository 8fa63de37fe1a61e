package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// RFC 6749 §5.2: invalid_client → 401, and "the authorization server MUST include the
// WWW-Authenticate response header field" when the client used HTTP Basic; a client that
// authenticated in the body gets no Basic challenge.
func TestTokenInvalidClient(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {idptest.WebCB}}
	w := e.post(PathToken, form, "web", "wrong-secret-0123456789")
	oauthError(t, w, http.StatusUnauthorized, codeInvalidClient)
	if ch := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Basic ") {
		t.Errorf("Basic client refused without a Basic challenge: WWW-Authenticate %q", ch)
	}

	form.Set("client_id", "web")
	form.Set("client_secret", "wrong-secret-0123456789")
	w = e.post(PathToken, form, "", "")
	oauthError(t, w, http.StatusUnauthorized, codeInvalidClient)
	if ch := w.Header().Get("WWW-Authenticate"); ch != "" {
		t.Errorf("client_secret_post refused with a Basic challenge %q", ch)
	}

	// RFC 6749 §2.3.1: malformed Basic credentials are a failed client authentication.
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic !!!")
	w = e.do(r)
	oauthError(t, w, http.StatusUnauthorized, codeInvalidClient)
	if w.Header().Get("WWW-Authenticate") == "" {
		t.Error("malformed Basic credentials refused without a challenge")
	}

	// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
	// request" → invalid_request.
	form = url.Values{"grant_type": {"client_credentials"}, "client_secret": {idptest.WebSecret}}
	oauthError(t, e.post(PathToken, form, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidRequest)
}

// RFC 6749 §5.2: unsupported_grant_type for a grant the server does not support; the
// resource owner password and implicit grants are refused before any credential is checked
// (RFC 9700 §2.4), so the endpoint is no password oracle.
func TestTokenUnsupportedGrantType(t *testing.T) {
	e := newEnv(t)
	for _, g := range []string{"password", "implicit", "urn:openid:params:grant-type:ciba", "device_code"} {
		form := url.Values{"grant_type": {g}, "username": {idptest.Alice}, "password": {idptest.UserPassword}, "client_id": {"nope"}}
		oauthError(t, e.post(PathToken, form, "", ""), http.StatusBadRequest, codeUnsupportedGrantType)
	}
	// RFC 6749 §4.1.3: grant_type is REQUIRED.
	oauthError(t, e.post(PathToken, url.Values{"code": {"x"}}, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidRequest)
}

// RFC 6749 §3.2: the client MUST use POST; §4.1.3: the parameters are
// application/x-www-form-urlencoded; §3.2: parameters MUST NOT be included more than once.
// Every answer of the token endpoint has Cache-Control: no-store (§5.1).
func TestTokenRequestForm(t *testing.T) {
	e := newEnv(t)
	w := e.do(httptest.NewRequest(http.MethodGet, PathToken+"?grant_type=client_credentials", nil))
	oauthError(t, w, http.StatusMethodNotAllowed, codeInvalidRequest)
	if w.Header().Get("Allow") != "POST" {
		t.Errorf("Allow %q", w.Header().Get("Allow"))
	}
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(`{"grant_type":"client_credentials"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", basic("web", idptest.WebSecret))
	oauthError(t, e.do(r), http.StatusBadRequest, codeInvalidRequest)

	r = httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=authorization_code&code=a&code=b"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", basic("web", idptest.WebSecret))
	w = e.do(r)
	if out := oauthError(t, w, http.StatusBadRequest, codeInvalidRequest); !strings.Contains(out["error_description"], "code") {
		t.Errorf("description %q does not name the repeated parameter", out["error_description"])
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("error answer Cache-Control %q", cc)
	}
}

// RFC 7636 §4.6: a code_verifier that does not match the code_challenge → invalid_grant;
// and §4.4.1 / RFC 9700 §2.1.1: the code is burned, so the right verifier fails afterwards.
func TestCodeWrongVerifier(t *testing.T) {
	e := newEnv(t)
	v, ch := idptest.PKCE()
	code := e.authorize(idptest.AuthQuery("cli", idptest.CliCB, ch, "openid"))
	wrong, _ := idptest.PKCE()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {idptest.CliCB},
		"client_id": {"cli"}, "code_verifier": {wrong}}
	oauthError(t, e.post(PathToken, form, "", ""), http.StatusBadRequest, codeInvalidGrant)
	form.Set("code_verifier", v)
	oauthError(t, e.post(PathToken, form, "", ""), http.StatusBadRequest, codeInvalidGrant)
}

// RFC 6749 §4.1.3: the redirect_uri of the token request must be identical to the
// authorization request's → invalid_grant.
func TestCodeRedirectURIMismatch(t *testing.T) {
	e := newEnv(t)
	v, ch := idptest.PKCE()
	code := e.authorize(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {idptest.WebCB2}, "code_verifier": {v}}
	oauthError(t, e.post(PathToken, form, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidGrant)
}

// RFC 6749 §10.5 and §4.1.2: a code used twice is refused, and the server SHOULD revoke
// the tokens issued from it: the first exchange's refresh token stops working and its
// access token is refused at userinfo.
func TestCodeReplayRevokesTokens(t *testing.T) {
	e := newEnv(t)
	v, ch := idptest.PKCE()
	code := e.authorize(idptest.AuthQuery("web", idptest.WebCB, ch, "openid", "offline_access"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {idptest.WebCB}, "code_verifier": {v}}
	w := e.post(PathToken, form, "web", idptest.WebSecret)
	tok := decode(t, w)
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("token response Cache-Control %q (RFC 6749 §5.1: no-store)", cc)
	}
	at, _ := tok["access_token"].(string)
	rt, _ := tok["refresh_token"].(string)
	if at == "" || rt == "" || tok["token_type"] != "Bearer" {
		t.Fatalf("token response %v", tok)
	}
	if w := e.userinfo(at); w.Code != http.StatusOK {
		t.Fatalf("userinfo before the replay: %d %s", w.Code, w.Body)
	}

	oauthError(t, e.post(PathToken, form, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidGrant)

	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	oauthError(t, e.post(PathToken, refresh, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidGrant)
	if w := e.userinfo(at); w.Code != http.StatusUnauthorized {
		t.Fatalf("userinfo with an access token of a replayed code: %d, want 401", w.Code)
	}
}

// RFC 6749 §6: a refresh token is bound to its client (invalid_grant for another one) and
// its scope may only be narrowed (invalid_scope); RFC 9700 §4.14.2: rotation, a rotated
// token presented again is refused.
func TestRefreshGrant(t *testing.T) {
	e := newEnv(t)
	v, ch := idptest.PKCE()
	code := e.authorize(idptest.AuthQuery("web", idptest.WebCB, ch, "openid", "offline_access"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {idptest.WebCB}, "code_verifier": {v}}
	rt, _ := decode(t, e.post(PathToken, form, "web", idptest.WebSecret))["refresh_token"].(string)

	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "rp", "another-secret-of-16+"),
		http.StatusBadRequest, codeInvalidGrant)
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid email"}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeInvalidScope)

	out := decode(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid"}}, "web", idptest.WebSecret))
	if out["scope"] != "openid" || out["refresh_token"] == rt || out["refresh_token"] == "" {
		t.Fatalf("refresh response %v", out)
	}
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeInvalidGrant)
}

// RFC 6749 §4.4: client_credentials needs a client allowed that grant
// (unauthorized_client otherwise, §5.2); a public client cannot use it.
func TestClientCredentialsGrant(t *testing.T) {
	e := newEnv(t)
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"client_credentials"}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeUnauthorizedClient)
	h := fuzzHandler(t)
	mux := http.NewServeMux()
	h.Mount(mux)
	post := func(form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", basic("machine", fuzzMachineSecret))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	// RFC 6749 §3.3 / §5.2: a scope the client may not have → invalid_scope (openid: no
	// user here).
	oauthError(t, post(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}), http.StatusBadRequest, codeInvalidScope)
	// RFC 8707 §2: a resource the client may not target → invalid_target.
	oauthError(t, post(url.Values{"grant_type": {"client_credentials"}, "resource": {"https://other.test"}}), http.StatusBadRequest, codeInvalidTarget)
	out := decode(t, post(url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}, "resource": {"https://api.test"}}))
	if out["scope"] != "api:read" || out["refresh_token"] != nil || out["id_token"] != nil {
		t.Fatalf("client_credentials response %v", out)
	}
}
