package password

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

func newEnv(t *testing.T) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t)
	e.Mount(&Handler{Kit: e.Kit, Password: e.P.Password, Signup: e.P.Signup})
	return e
}

func form(email, password, returnTo string) url.Values {
	return url.Values{"email": {email}, "password": {password}, "return_to": {returnTo}}
}

// The right password starts a session and goes to the local return_to; the session secret
// is a new one (no fixation: a session cookie the browser had before is ended).
func TestLoginForm(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	before := b.CookieValue("session")
	sec := e.Kit.Cookie.Secret(&http.Request{Header: http.Header{"Cookie": {"gatehouse_session=" + before}}})
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec); err != nil {
		t.Fatalf("the session before the login: %v", err)
	}
	r := b.PostForm("/login", form(idptest.Alice, idptest.UserPassword, "/authorize?client_id=web"))
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/authorize?client_id=web" {
		t.Fatalf("login: %d %q, want 303 to the return_to", r.StatusCode, r.Location())
	}
	c := r.Cookie("session")
	if c == nil || c.Value == "" || c.Value == before || !c.HttpOnly {
		t.Fatalf("login set no new HttpOnly session cookie: %v", c)
	}
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec); err == nil {
		t.Fatal("the session from before the login is still valid")
	}
}

// A wrong password re-renders the login page with the error and 401, keeping the address,
// and starts no session; an unknown address answers the same.
func TestLoginFormWrongPassword(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	for _, email := range []string{idptest.Alice, "nobody@example.com"} {
		r := b.PostForm("/login", form(email, "wrong password", ""))
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "The email or password is incorrect.") ||
			!strings.Contains(r.Body, `value="`+email+`"`) || r.Cookie("session") != nil {
			t.Fatalf("%s with a wrong password: %d, want 401 and the message:\n%s", email, r.StatusCode, r.Body)
		}
	}
}

// A login form without this browser's CSRF token is refused (login CSRF: another site must
// not log the browser into an account of its choosing).
func TestLoginFormCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.CSRF()
	for _, tok := range []string{"", "x" + b.CSRF()} {
		f := form(idptest.Alice, idptest.UserPassword, "")
		f.Set("csrf_token", tok)
		r := b.PostForm("/login", f)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "Your form expired") || r.Cookie("session") != nil {
			t.Fatalf("csrf_token %q: %d, want 403 and no session", tok, r.StatusCode)
		}
	}
	// A token from another browser does not work either.
	other := e.Browser().CSRF()
	f := form(idptest.Alice, idptest.UserPassword, "")
	f.Set("csrf_token", other)
	if r := b.PostForm("/login", f); r.StatusCode != http.StatusForbidden {
		t.Fatalf("another browser's token: %d, want 403", r.StatusCode)
	}
}

// Open redirect (PX-19): a return_to that is not a local path leads to the account page.
func TestLoginFormForeignReturnTo(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"https://evil.test/", "//evil.test/", "/\\evil.test", "/%2F/evil.test"} {
		r := e.Browser().PostForm("/login", form(idptest.Alice, idptest.UserPassword, target))
		if r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
			t.Errorf("return_to %q: %d %q, want 303 to /", target, r.StatusCode, r.Location())
		}
	}
}

// POST /api/v1/login/password (docs/auth-api.md): 200 with the user and redirect_to, 401
// invalid_credentials for a wrong password, 400 invalid_request for a body that is not the
// documented JSON object.
func TestAPILogin(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	r := b.PostJSON("/api/v1/login/password", map[string]string{"email": idptest.Alice, "password": "nope"})
	if got := r.APIError(t); r.StatusCode != http.StatusUnauthorized || got.Error != "invalid_credentials" || r.Cookie("session") != nil {
		t.Fatalf("wrong password: %d %s, want 401 invalid_credentials", r.StatusCode, r.Body)
	}
	for _, body := range []string{`{"email":"a@b.c","password":"x","admin":true}`, `{"email":`, `[]`} {
		r := b.PostJSON("/api/v1/login/password", body)
		if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "invalid_request" {
			t.Fatalf("body %s: %d %s, want 400 invalid_request", body, r.StatusCode, r.Body)
		}
	}
	r = b.Do(http.MethodPost, "/api/v1/login/password", "text/plain", strings.NewReader(`{}`))
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("text/plain body: %d, want 400", r.StatusCode)
	}
	r = b.PostJSON("/api/v1/login/password", map[string]string{"email": idptest.Alice, "password": idptest.UserPassword, "return_to": "//evil.test"})
	var ok struct {
		User        struct{ Email string }
		RedirectTo  string `json:"redirect_to"`
		MFARequired bool   `json:"mfa_required"`
	}
	r.JSON(t, &ok)
	if r.StatusCode != http.StatusOK || ok.User.Email != idptest.Alice || ok.RedirectTo != "/" || ok.MFARequired || r.Cookie("session") == nil {
		t.Fatalf("login: %d %s, want 200, alice, redirect_to / and a session", r.StatusCode, r.Body)
	}
}

// A user with a passkey must confirm the password login with it (CR-18): no session yet,
// the MFA cookie, and redirect_to the second-factor page keeping the return_to.
func TestLoginNeedsSecondFactor(t *testing.T) {
	e := newEnv(t)
	e.AddPasskey("Laptop")
	b := e.Browser()
	r := b.PostJSON("/api/v1/login/password", map[string]string{"email": idptest.Alice, "password": idptest.UserPassword, "return_to": "/x"})
	var got struct {
		RedirectTo  string `json:"redirect_to"`
		MFARequired bool   `json:"mfa_required"`
	}
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || !got.MFARequired || got.RedirectTo != "/login/mfa?return_to=%2Fx" ||
		r.Cookie("session") != nil || r.Cookie("mfa") == nil || r.Cookie("mfa").MaxAge != 300 {
		t.Fatalf("login of a passkey user: %d %s %v, want mfa_required, the MFA cookie and no session", r.StatusCode, r.Body, r.Cookies())
	}
	r = b.PostForm("/login", form(idptest.Alice, idptest.UserPassword, ""))
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/login/mfa" || r.Cookie("session") != nil {
		t.Fatalf("form login of a passkey user: %d %q, want 303 to /login/mfa and no session", r.StatusCode, r.Location())
	}
}

// Repeated wrong passwords lock the account for a while (lockout): 429 too_many_attempts
// with Retry-After, even for the right password.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	for range 5 {
		b.PostJSON("/api/v1/login/password", map[string]string{"email": idptest.Alice, "password": "wrong"})
	}
	r := b.PostJSON("/api/v1/login/password", map[string]string{"email": idptest.Alice, "password": idptest.UserPassword})
	if got := r.APIError(t); r.StatusCode != http.StatusTooManyRequests || got.Error != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after 5 failures: %d %s, want 429 too_many_attempts with Retry-After", r.StatusCode, r.Body)
	}
	r = b.PostForm("/login", form(idptest.Alice, idptest.UserPassword, ""))
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("form after 5 failures: %d, want 429", r.StatusCode)
	}
}
