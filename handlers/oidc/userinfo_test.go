package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// userinfo calls GET /userinfo with a Bearer token ("" for none).
func (e *env) userinfo(at string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, PathUserinfo, nil)
	if at != "" {
		r.Header.Set("Authorization", "Bearer "+at)
	}
	return e.do(r)
}

// tokens runs the code flow of the web client through the endpoints and returns the
// token response.
func (e *env) tokens(scopes ...string) map[string]any {
	e.T.Helper()
	v, ch := idptest.PKCE()
	code := e.authorize(idptest.AuthQuery("web", idptest.WebCB, ch, scopes...))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {idptest.WebCB}, "code_verifier": {v}}
	return decode(e.T, e.post(PathToken, form, "web", idptest.WebSecret))
}

// RFC 6750 §3.1 and OIDC Core §5.3.3: a request without a token → 401 with a Bearer
// challenge that "SHOULD NOT include an error code"; an invalid token → 401 with
// error="invalid_token"; a token without the openid scope → 403 insufficient_scope; a
// malformed Authorization header → 400 invalid_request.
func TestUserinfoErrors(t *testing.T) {
	e := newEnv(t)
	w := e.userinfo("")
	if ch := w.Header().Get("WWW-Authenticate"); w.Code != http.StatusUnauthorized || !strings.HasPrefix(ch, "Bearer ") || strings.Contains(ch, "error=") {
		t.Fatalf("no token: %d, WWW-Authenticate %q", w.Code, ch)
	}
	w = e.userinfo("not-a-token")
	oauthError(t, w, http.StatusUnauthorized, codeInvalidToken)
	if ch := w.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("invalid token challenge %q", ch)
	}
	// RFC 6750 §2.1: the credentials are "Bearer" 1*SP b64token.
	r := httptest.NewRequest(http.MethodGet, PathUserinfo, nil)
	r.Header.Set("Authorization", basic("a", "b"))
	oauthError(t, e.do(r), http.StatusBadRequest, codeInvalidRequest)

	at, _ := e.tokens("email")["access_token"].(string)
	w = e.userinfo(at)
	oauthError(t, w, http.StatusForbidden, codeInsufficientScope)
	if ch := w.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) {
		t.Errorf("insufficient scope challenge %q", ch)
	}

	// OIDC Core §5.3.1: the UserInfo Endpoint MUST support GET and POST.
	w = e.do(httptest.NewRequest(http.MethodDelete, PathUserinfo, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /userinfo: %d", w.Code)
	}
}

// OIDC Core §5.3.2: the answer's sub is the ID token's; scope email releases email.
func TestUserinfoClaims(t *testing.T) {
	e := newEnv(t)
	at, _ := e.tokens("openid", "email")["access_token"].(string)
	out := decode(t, e.userinfo(at))
	if out["sub"] != e.User.ID || out["email"] != idptest.Alice {
		t.Fatalf("userinfo %v", out)
	}
	if _, ok := out["family_name"]; ok {
		t.Errorf("profile claims released without the profile scope: %v", out)
	}
	// RFC 6750 §2.2: the form-encoded body parameter on a POST.
	r := httptest.NewRequest(http.MethodPost, PathUserinfo, strings.NewReader(url.Values{"access_token": {at}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if out := decode(t, e.do(r)); out["sub"] != e.User.ID {
		t.Fatalf("POST userinfo %v", out)
	}
}
