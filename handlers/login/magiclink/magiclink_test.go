package magiclink

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

func newEnv(t *testing.T, mod ...func(*idp.Config)) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t, mod...)
	e.Mount(&Handler{Kit: e.Kit, MagicLink: e.P.MagicLink})
	return e
}

// token returns the token of the last magic link sent to alice (it travels in the URL
// fragment: /login/magic#<token>).
func token(t *testing.T, e *portaltest.Env) string {
	t.Helper()
	link := e.Msgs.Last(t, idptest.Alice, portaltest.MsgMagicLink).Vars.Link
	_, tok, ok := strings.Cut(link, "/login/magic#")
	if !ok || tok == "" {
		t.Fatalf("no token in the link %q", link)
	}
	return tok
}

// Through the JSON API: 202 and the magic cookie for any address (CR-06); the link logs in
// once in the browser that asked, going to the return_to given at the start; the same
// link again is refused (link_expired).
func TestAPI(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	other := e.Browser().PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": "nobody@example.com"})
	r := b.PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": idptest.Alice, "return_to": "/app"})
	if r.StatusCode != http.StatusAccepted || r.Cookie("magic") == nil || r.Cookie("magic").MaxAge != 900 || r.Body != other.Body {
		t.Fatalf("start: %d %s (unknown address: %s), want the same 202 and the magic cookie", r.StatusCode, r.Body, other.Body)
	}
	tok := token(t, e)
	r = b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok})
	var got struct {
		User       struct{ Email string }
		RedirectTo string `json:"redirect_to"`
	}
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || got.User.Email != idptest.Alice || got.RedirectTo != "/app" || r.Cookie("session") == nil {
		t.Fatalf("finish: %d %s, want 200, alice, /app and a session", r.StatusCode, r.Body)
	}
	if c := r.Cookie("magic"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("the magic cookie was not deleted: %v", c)
	}
	r = b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok, "confirm": true})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "link_expired" || r.Cookie("session") != nil {
		t.Fatalf("replayed link: %d %s, want 400 link_expired", r.StatusCode, r.Body)
	}
}

// CR-17: a link opened in another browser than the one that asked for it asks first
// (409 confirmation_required naming the account) and logs in only when confirmed.
func TestAPIOtherBrowserMustConfirm(t *testing.T) {
	e := newEnv(t)
	e.Browser().PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": idptest.Alice})
	tok := token(t, e)
	b := e.Browser()
	r := b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "confirmation_required") ||
		!strings.Contains(r.Body, idptest.Alice) || r.Cookie("session") != nil {
		t.Fatalf("other browser: %d %s, want 409 confirmation_required and no session", r.StatusCode, r.Body)
	}
	r = b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok, "confirm": true})
	if r.StatusCode != http.StatusOK || r.Cookie("session") == nil {
		t.Fatalf("confirmed: %d %s, want 200 and a session", r.StatusCode, r.Body)
	}
}

// An expired link is refused.
func TestAPIExpiredLink(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": idptest.Alice})
	tok := token(t, e)
	e.Clock.Advance(e.P.Codes.LinkTTL() + time.Second)
	r := b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "link_expired" || r.Cookie("session") != nil {
		t.Fatalf("expired link: %d %s, want 400 link_expired", r.StatusCode, r.Body)
	}
}

// CR-16: opening the link never logs in (mail scanners fetch links); CR-15: a token in the
// query string is moved to a cookie and the browser sent to the clean URL, without a
// Referer. The page's form then logs in.
func TestLinkPage(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	r := b.PostForm("/login/magic-link", url.Values{"email": {idptest.Alice}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Check your email") || r.Cookie("magic") == nil {
		t.Fatalf("request form: %d\n%s", r.StatusCode, r.Body)
	}
	tok := token(t, e)
	r = b.Get("/login/magic?token=" + url.QueryEscape(tok))
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/login/magic" || r.Header.Get("Referrer-Policy") != "no-referrer" ||
		r.Cookie("session") != nil || r.Cookie("magic_link") == nil {
		t.Fatalf("link with the token in the query: %d %q, want 303 to the clean URL, the token in a cookie, no session", r.StatusCode, r.Location())
	}
	r = b.Get("/login/magic")
	if r.StatusCode != http.StatusOK || r.Cookie("session") != nil {
		t.Fatalf("interstitial page: %d, want 200 and no session", r.StatusCode)
	}
	r = b.PostForm("/login/magic", nil)
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/app" || r.Cookie("session") == nil {
		t.Fatalf("page form: %d %q, want 303 to /app and a session", r.StatusCode, r.Location())
	}
	// The link works once.
	r = b.PostForm("/login/magic", url.Values{"token": {tok}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "link_expired") {
		t.Fatalf("used link: %d, want 400 link_expired", r.StatusCode)
	}
}

// The link page's form needs this browser's CSRF token.
func TestLinkFormNeedsCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": idptest.Alice})
	r := b.PostForm("/login/magic", url.Values{"token": {token(t, e)}, "csrf_token": {"forged"}})
	if r.StatusCode != http.StatusForbidden || r.Cookie("session") != nil {
		t.Fatalf("forged CSRF token: %d, want 403 and no session", r.StatusCode)
	}
}

// The request page is 404 when magic links are off.
func TestDisabled(t *testing.T) {
	e := newEnv(t, func(c *idp.Config) { c.Methods = nil })
	if r := e.Browser().Get("/login/magic-link"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "method_disabled") {
		t.Fatalf("disabled: %d, want 404 method_disabled", r.StatusCode)
	}
}
