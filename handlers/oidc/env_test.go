package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// env is the OpenID Provider endpoints of an idptest provider (store/memory), mounted on a
// mux as module/portal.go mounts them, at the issuer's root. No Node, no browser.
type env struct {
	*idptest.Env
	h      *Handler
	mux    *http.ServeMux
	cookie *session.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := idptest.New(t)
	tpl, err := ui.Load()
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	cookie := session.New(web.CookieName("session", true), e.P.Keys.DeriveKey("session-cookie-hmac"),
		e.P.Keys.DeriveKey("session-cookie-aes"), true, time.Hour)
	h := &Handler{OAuth: e.P.OAuth, Sessions: e.P.Sessions, MFA: e.P.MFA, Passkeys: e.P.Passkey, Tokens: e.P.Verifier,
		Keys: e.P.Keys, Issuer: idptest.Issuer, Now: e.Clock.Now, Cookie: cookie, Templates: tpl,
		CSRF: &web.CSRF{Key: e.P.Keys.DeriveKey("csrf"), CookieName: web.CookieName("csrf", true),
			NewSecret: func() string { return secret.New(32) }}}
	mux := http.NewServeMux()
	h.Mount(mux)
	return &env{Env: e, h: h, mux: mux, cookie: cookie}
}

// do serves r and returns the recorded answer.
func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

// post sends a form to path, with HTTP Basic credentials when id is not empty.
func (e *env) post(path string, form url.Values, id, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		r.Header.Set("Authorization", basic(id, secret))
	}
	return e.do(r)
}

// loggedIn returns a request for target carrying the cookie of a new portal session of the
// fixture's user.
func (e *env) loggedIn(target string) *http.Request {
	e.T.Helper()
	secret, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		e.T.Fatal(err)
	}
	return e.withSession(secret, target)
}

// withSession returns a GET request for target carrying the session cookie of secret.
func (e *env) withSession(secret, target string) *http.Request {
	e.T.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if err := e.cookie.Issue(w, r, secret); err != nil {
		e.T.Fatal(err)
	}
	r = httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

// authorize runs /authorize for q with a logged-in session and returns the code.
func (e *env) authorize(q url.Values) string {
	e.T.Helper()
	w := e.do(e.loggedIn(PathAuthorize + "?" + q.Encode()))
	loc := redirectParams(e.T, w)
	code := loc.Get("code")
	if code == "" {
		e.T.Fatalf("no code in the authorization response: %v", loc)
	}
	return code
}

// redirectParams returns the query of a 302 answer's Location.
func redirectParams(t testing.TB, w *httptest.ResponseRecorder) url.Values {
	t.Helper()
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302: %s", w.Code, w.Body)
	}
	u, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// oauthError decodes an RFC 6749 §5.2 error answer and checks its status and code.
func oauthError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) map[string]string {
	t.Helper()
	var out map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("status %d, body not a JSON error: %q", w.Code, w.Body)
	}
	if w.Code != status || out["error"] != code {
		t.Fatalf("got %d %q (%s), want %d %q", w.Code, out["error"], out["error_description"], status, code)
	}
	return out
}

// decode decodes a JSON answer of status 200.
func decode(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("body not JSON: %q", w.Body)
	}
	return out
}
