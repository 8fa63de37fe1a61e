package login

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

func newEnv(t *testing.T) (*portaltest.Env, *Handler) {
	t.Helper()
	e := portaltest.New(t)
	h := &Handler{Kit: e.Kit, Signup: e.P.Signup, IDTokens: e.P.Verifier, Clients: e.P.OAuth}
	e.Mount(h)
	return e, h
}

// The login page shows the form with a CSRF token; a browser that has a session and no
// return_to goes to the account page instead.
func TestLoginPage(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	r := b.Get("/login?login_hint=alice%40example.com")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `name="csrf_token" value="`+b.CSRF()+`"`) ||
		!strings.Contains(r.Body, "alice@example.com") {
		t.Fatalf("login page: %d, want 200 with the CSRF token and the login hint:\n%s", r.StatusCode, r.Body)
	}
	if r.Cookie("csrf") == nil {
		t.Fatal("login page set no CSRF cookie")
	}
	b.LogIn()
	if r := b.Get("/login"); r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("login page with a session: %d %q, want 303 to /", r.StatusCode, r.Location())
	}
	// With a return_to, the authorization endpoint asks for a (fresh) login: show the form.
	if r := b.Get("/login?return_to=%2Fauthorize%3Fx%3D1"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "/authorize?x=1") {
		t.Fatalf("login page with a session and a return_to: %d, want 200 with the return_to", r.StatusCode)
	}
}

// Open redirect (THREATS PX-19, web.LocalPath): a return_to that leaves the site is dropped
// from the login page, so no form posts it back.
func TestLoginPageDropsForeignReturnTo(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	for _, target := range []string{"https://evil.test/x", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"} {
		r := b.Get("/login?return_to=" + url.QueryEscape(target))
		if r.StatusCode != http.StatusOK || strings.Contains(r.Body, "evil.test") || strings.Contains(r.Body, "javascript:") {
			t.Errorf("return_to %q: %d, and the page carries it:\n%s", target, r.StatusCode, r.Body)
		}
	}
}

// GET /api/v1/session: 401 {"authenticated":false} without a session, the user and the
// login's amr with one.
func TestSessionAPI(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	r := b.Get("/api/v1/session")
	var got struct {
		Authenticated bool
		User          *struct{ Email string }
		AMR           []string
	}
	r.JSON(t, &got)
	if r.StatusCode != http.StatusUnauthorized || got.Authenticated || got.User != nil {
		t.Fatalf("no session: %d %s, want 401 unauthenticated", r.StatusCode, r.Body)
	}
	b.LogIn()
	r = b.Get("/api/v1/session")
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || !got.Authenticated || got.User == nil || got.User.Email != e.User.Email ||
		len(got.AMR) != 1 || got.AMR[0] != "pwd" {
		t.Fatalf("session: %d %s, want 200 with alice and amr [pwd]", r.StatusCode, r.Body)
	}
}

// Logging out ends the session and clears the cookie: the session API then answers 401,
// and the old cookie value no longer works even if a browser kept it.
func TestLogoutClearsSessionAndCookie(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	b.LogIn()
	old := b.CookieValue("session")
	if r := b.Get("/logout"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, e.User.Email) {
		t.Fatalf("logout page: %d, want 200 naming the user", r.StatusCode)
	}
	r := b.PostForm("/logout", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Logged out") {
		t.Fatalf("logout: %d, want 200 and the logged-out page:\n%s", r.StatusCode, r.Body)
	}
	if c := r.Cookie("session"); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout did not delete the session cookie: %v", c)
	}
	if r := b.Get("/api/v1/session"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session after logout: %d, want 401", r.StatusCode)
	}
	b.SetCookie("session", old)
	if r := b.Get("/api/v1/session"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old session cookie after logout: %d, want 401", r.StatusCode)
	}
}

// A logout form without the right CSRF token is refused and the session survives (a
// cross-site page must not log the user out).
func TestLogoutFormNeedsCSRFToken(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	b.LogIn()
	b.CSRF()
	for _, tok := range []string{"", "forged-token"} {
		r := b.PostForm("/logout", url.Values{"csrf_token": {tok}})
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "csrf") || r.Cookie("session") != nil {
			t.Fatalf("csrf_token %q: %d, want 403 csrf and no cookie change", tok, r.StatusCode)
		}
	}
	if r := b.Get("/api/v1/session"); r.StatusCode != http.StatusOK {
		t.Fatalf("session after refused logouts: %d, want 200", r.StatusCode)
	}
}

// POST /api/v1/logout needs Content-Type: application/json (a cross-site form cannot send
// it, docs/auth-api.md) and answers 204; a request another site sent is refused by the
// cross-origin protection before it runs.
func TestAPILogout(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	b.LogIn()
	r := b.Do(http.MethodPost, "/api/v1/logout", "application/x-www-form-urlencoded", strings.NewReader(""))
	if r.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form-encoded logout: %d, want 415", r.StatusCode)
	}
	b.Header.Set("Sec-Fetch-Site", "cross-site")
	r = b.PostJSON("/api/v1/logout", "{}")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "cross_origin") {
		t.Fatalf("cross-site logout: %d, want 403 cross_origin:\n%s", r.StatusCode, r.Body)
	}
	b.Header.Del("Sec-Fetch-Site")
	if r := b.Get("/api/v1/session"); r.StatusCode != http.StatusOK {
		t.Fatalf("session after refused logouts: %d, want 200", r.StatusCode)
	}
	r = b.PostJSON("/api/v1/logout", "{}")
	if r.StatusCode != http.StatusNoContent || r.Cookie("session") == nil || r.Cookie("session").MaxAge >= 0 {
		t.Fatalf("logout: %d, want 204 and the cookie deleted", r.StatusCode)
	}
	if r := b.Get("/api/v1/session"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session after logout: %d, want 401", r.StatusCode)
	}
}

// OpenID Connect RP-Initiated Logout 1.0 §3: "The OP MUST NOT perform post-logout
// redirection if the post_logout_redirect_uri value supplied does not exactly match one of
// the previously registered post_logout_redirect_uris values"; an id_token_hint that is
// not this OP's ID token, or whose audience is not client_id, is refused.
func TestLogoutRedirectAndHint(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	r := b.Get("/logout?client_id=web&post_logout_redirect_uri=" + url.QueryEscape("https://evil.test/") + "&state=s")
	if r.StatusCode != http.StatusOK || r.Location() != "" || strings.Contains(r.Body, "evil.test") {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %q, want 200 and no redirect", r.StatusCode, r.Location())
	}
	if r := b.Get("/logout?id_token_hint=not-a-token"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "id_token_hint") {
		t.Fatalf("forged id_token_hint: %d, want 400", r.StatusCode)
	}
	tok, _ := e.Tokens("openid")
	if r := b.Get("/logout?client_id=cli&id_token_hint=" + url.QueryEscape(tok.IDToken)); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Body, "Client_id does not match") {
		t.Fatalf("id_token_hint of another client: %d, want 400:\n%s", r.StatusCode, r.Body)
	}
	if r := b.Get("/logout?id_token_hint=" + url.QueryEscape(tok.IDToken)); r.StatusCode != http.StatusOK {
		t.Fatalf("valid id_token_hint: %d, want 200", r.StatusCode)
	}
}

// The static files are served with a cache lifetime and nosniff.
func TestStatic(t *testing.T) {
	e, _ := newEnv(t)
	r := e.Browser().Get("/static/style.css")
	if r.StatusCode != http.StatusOK || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
		r.Header.Get("Cache-Control") != "public, max-age=3600" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("static: %d %v", r.StatusCode, r.Header)
	}
	if r := e.Browser().Get("/static/nonexistent.css"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("missing static file: %d, want 404", r.StatusCode)
	}
}

// OpenID Connect RP-Initiated Logout 1.0 §2: "The OP MUST support the use of the HTTP GET and
// POST methods defined in RFC 7231 at the Logout Endpoint. RPs MAY use the HTTP GET or POST
// methods to send the logout request to the OP. If using the HTTP POST method, the request
// parameters are serialized using Form Serialization." A form the RP's page posts (Origin of
// the RP, Sec-Fetch-Site cross-site) and a server-side POST (no Origin) get the confirmation
// page, as the GET does; confirming logs out and redirects to the registered
// post_logout_redirect_uri with state; an unregistered one is not redirected to.
func TestLogoutByPOST(t *testing.T) {
	e, _ := newEnv(t)
	tok, _ := e.Tokens("openid")
	rpForm := func(uri string) url.Values {
		return url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {uri}, "state": {"st-1"},
			"ui_locales": {"en"}, "logout_hint": {e.User.Email}}
	}
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"form posted from the RP's page", map[string]string{"Origin": "https://rp.test", "Sec-Fetch-Site": "cross-site"}},
		{"server-side POST", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.Browser()
			b.LogIn()
			for k, v := range tc.header {
				b.Header.Set(k, v)
			}
			r := b.Do(http.MethodPost, "/logout", "application/x-www-form-urlencoded", strings.NewReader(rpForm(idptest.WebBye).Encode()))
			b.Header = http.Header{}
			if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, e.User.Email) || !strings.Contains(r.Body, `name="csrf_token"`) {
				t.Fatalf("RP's logout POST: %d, want 200 and the confirmation page:\n%s", r.StatusCode, r.Body)
			}
			if got := b.Get("/api/v1/session"); got.StatusCode != http.StatusOK {
				t.Fatalf("the RP's POST alone ended the session: %d", got.StatusCode)
			}
			hidden := url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {idptest.WebBye}, "state": {"st-1"}}
			r = b.PostForm("/logout", hidden)
			if r.StatusCode != http.StatusSeeOther || r.Location() != idptest.WebBye+"?state=st-1" {
				t.Fatalf("confirmation: %d %q, want 303 to %s?state=st-1", r.StatusCode, r.Location(), idptest.WebBye)
			}
			if got := b.Get("/api/v1/session"); got.StatusCode != http.StatusUnauthorized {
				t.Fatalf("session after confirming: %d, want 401", got.StatusCode)
			}
		})
	}
	t.Run("unregistered post_logout_redirect_uri", func(t *testing.T) {
		b := e.Browser()
		b.LogIn()
		r := b.Do(http.MethodPost, "/logout", "application/x-www-form-urlencoded", strings.NewReader(rpForm("https://evil.test/").Encode()))
		if r.StatusCode != http.StatusOK || strings.Contains(r.Body, "evil.test") {
			t.Fatalf("unregistered uri: %d, want 200 without it:\n%s", r.StatusCode, r.Body)
		}
		r = b.PostForm("/logout", url.Values{"post_logout_redirect_uri": {"https://evil.test/"}, "client_id": {"web"}})
		if r.StatusCode != http.StatusOK || r.Location() != "" || !strings.Contains(r.Body, "Logged out") {
			t.Fatalf("confirmation: %d %q, want 200 logged out and no redirect", r.StatusCode, r.Location())
		}
	})
	// The confirmation's submission keeps the cross-site protection (PX-23).
	t.Run("cross-site confirmation", func(t *testing.T) {
		b := e.Browser()
		b.LogIn()
		b.Header.Set("Sec-Fetch-Site", "cross-site")
		r := b.PostForm("/logout", nil)
		b.Header = http.Header{}
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "cross_origin") {
			t.Fatalf("cross-site confirmation: %d, want 403 cross_origin", r.StatusCode)
		}
		if got := b.Get("/api/v1/session"); got.StatusCode != http.StatusOK {
			t.Fatalf("session after a refused confirmation: %d, want 200", got.StatusCode)
		}
	})
	// A cross-site POST carries no SameSite=Lax session cookie: the OP asks again by GET.
	t.Run("cross-site POST without the cookie", func(t *testing.T) {
		b := e.Browser()
		b.Header.Set("Sec-Fetch-Site", "cross-site")
		b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r := b.Do(http.MethodPost, "/logout", "application/x-www-form-urlencoded", strings.NewReader(rpForm(idptest.WebBye).Encode()))
		loc, _ := url.Parse(r.Location())
		if r.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/logout" || loc.Query().Get("post_logout_redirect_uri") != idptest.WebBye ||
			loc.Query().Get("state") != "st-1" {
			t.Fatalf("cookieless cross-site POST: %d %q, want 303 to GET /logout with the parameters", r.StatusCode, r.Location())
		}
	})
}

// hrefOf returns the href of the link marked with attr (data-cancel, data-login-again).
func hrefOf(body, attr string) string {
	i := strings.Index(body, attr)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(body[:i], `href="`)
	if j < 0 {
		return ""
	}
	v := body[j+len(`href="`):]
	return html.UnescapeString(v[:strings.IndexByte(v, '"')])
}

// Issue 14 item 8 and PX-19: the logout confirmation has a Cancel that goes back where the
// user was — the app of an RP-initiated logout, from the client's registration (its first
// post_logout_redirect_uri, else its first redirect URI's origin), or a local return_to —
// and never to an address the request names.
func TestPX19_LogoutCancelGoesBack(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	b.LogIn()
	for q, want := range map[string]string{
		"":                                      "/",
		"?return_to=%2Faccount%2Fpassword":      "/account/password",
		"?return_to=%2F%2Fevil.test":            "/",
		"?return_to=https%3A%2F%2Fevil.test%2F": "/",
		"?client_id=web":                        idptest.WebBye,
		"?client_id=rp":                         "https://rp2.test/",
		"?client_id=rp&post_logout_redirect_uri=https%3A%2F%2Fevil.test%2F": "https://rp2.test/",
		"?client_id=nope&return_to=%2Fx":                                    "/x",
	} {
		r := b.Get("/logout" + q)
		if got := hrefOf(r.Body, "data-cancel"); r.StatusCode != http.StatusOK || got != want {
			t.Errorf("GET /logout%s: %d, Cancel %q, want %q", q, r.StatusCode, got, want)
		}
	}
}

// Issue 14 item 8: after the logout, "log in again" returns to the app the user came from
// (the client's registration decides the address), else the portal's login page.
func TestLoggedOutLogInAgainGoesToTheApp(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	b.LogIn()
	page := b.Get("/logout?client_id=rp")
	if !strings.Contains(page.Body, `name="client_id" value="rp"`) {
		t.Fatalf("the confirmation does not carry the client:\n%s", page.Body)
	}
	r := b.PostForm("/logout", url.Values{"client_id": {"rp"}})
	if got := hrefOf(r.Body, "data-login-again"); r.StatusCode != http.StatusOK || got != "https://rp2.test/" {
		t.Fatalf("logged out from rp: %d, log in again %q, want https://rp2.test/\n%s", r.StatusCode, got, r.Body)
	}
	for q, want := range map[string]string{"": "/login", "?client_id=rp": "https://rp2.test/", "?client_id=nope": "/login",
		"?client_id=rp&post_logout_redirect_uri=https%3A%2F%2Fevil.test%2F": "https://rp2.test/"} {
		r := e.Browser().Get("/logout" + q)
		if got := hrefOf(r.Body, "data-login-again"); r.StatusCode != http.StatusOK || got != want || strings.Contains(r.Body, "evil.test") {
			t.Errorf("logged out, GET /logout%s: %d, log in again %q, want %q", q, r.StatusCode, got, want)
		}
	}
}
