package social

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/social"
)

// fakeGitHub is a GitHub-style OAuth 2.0 provider: any code is redeemed for a token, and
// the API says the user is id 42 with the verified primary address email.
func fakeGitHub(t *testing.T, email string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/token":
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "gho_test", "token_type": "bearer"})
		case "/api/user":
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 42, "login": "octo"})
		case "/api/user/emails":
			_ = json.NewEncoder(w).Encode([]map[string]any{{"email": email, "primary": true, "verified": true}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// accountError records the calls of the account page hook.
type accountError struct {
	status int
	msg    string
}

func newEnv(t *testing.T, email string) (*portaltest.Env, *accountError) {
	t.Helper()
	gh := fakeGitHub(t, email)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	e := portaltest.New(t, func(c *idp.Config) {
		c.SocialProviders = []*social.Provider{
			{Name: "gh", Label: "GitHub", Kind: social.KindGitHub, ClientID: "c", ClientSecret: "s", Onboarding: true,
				AuthURL: gh.URL + "/authorize", TokenURL: gh.URL + "/token", APIURL: gh.URL + "/api"},
			{Name: "down", Label: "Corp SSO", Kind: social.KindOIDC, Issuer: down.URL, ClientID: "c", ClientSecret: "s"},
		}
	})
	got := &accountError{}
	e.Mount(&Handler{Kit: e.Kit, Social: e.P.Social, AccountError: func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		got.status, got.msg = status, msg
		w.WriteHeader(status)
	}})
	return e, got
}

// start goes to the provider and returns the state it was given.
func start(t *testing.T, b *portaltest.Browser, path string) string {
	t.Helper()
	r := b.Get(path)
	loc, err := url.Parse(r.Location())
	if r.StatusCode != http.StatusSeeOther || err != nil || loc.Query().Get("state") == "" || r.Cookie("social") == nil {
		t.Fatalf("start %s: %d %q %v, want 303 to the provider with a state and the state cookie", path, r.StatusCode, r.Location(), r.Cookies())
	}
	return loc.Query().Get("state")
}

// A first login by a provider with implicit onboarding creates the account and its session
// and goes to the (local) return_to; the state cookie is deleted.
func TestLoginOnboarding(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	b := e.Browser()
	state := start(t, b, "/login/social/gh?return_to=%2Fapp")
	r := b.Get("/login/social/gh/callback?code=abc&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/app" || r.Cookie("session") == nil {
		t.Fatalf("callback: %d %q\n%s, want 303 to /app and a session", r.StatusCode, r.Location(), r.Body)
	}
	if c := r.Cookie("social"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("the state cookie was not deleted: %v", c)
	}
}

// RFC 6749 §10.12: the client "MUST implement CSRF protection for its redirection URI" —
// an answer whose state is not this browser's (another browser, a replay) is refused.
func TestCallbackState(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	b := e.Browser()
	state := start(t, b, "/login/social/gh")
	r := e.Browser().Get("/login/social/gh/callback?code=abc&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "invalid_state") || r.Cookie("session") != nil {
		t.Fatalf("callback in another browser: %d, want 400 invalid_state\n%s", r.StatusCode, r.Body)
	}
	if r := b.Get("/login/social/gh/callback?code=abc&state=forged"); r.StatusCode != http.StatusBadRequest || r.Cookie("session") != nil {
		t.Fatalf("forged state: %d, want 400", r.StatusCode)
	}
	// The first answer used the state up: the real one no longer works in this browser.
	if r := b.Get("/login/social/gh/callback?code=abc&state=" + url.QueryEscape(state)); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("state after a refused answer: %d, want 400", r.StatusCode)
	}
}

// An upstream identity whose address belongs to an account is not linked silently (account
// takeover by email): 409 and the page offering to log in first.
func TestLoginLinkRequired(t *testing.T) {
	e, _ := newEnv(t, idptest.Alice)
	b := e.Browser()
	state := start(t, b, "/login/social/gh")
	r := b.Get("/login/social/gh/callback?code=abc&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusConflict || r.Cookie("session") != nil || !strings.Contains(r.Body, "login_hint=alice%40example.com") {
		t.Fatalf("callback for alice's address: %d, want 409 link_required and no session\n%s", r.StatusCode, r.Body)
	}
}

// Unknown providers are 404; a provider that cannot be reached is 503 provider_unavailable
// with no state cookie.
func TestProviderErrors(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	b := e.Browser()
	for _, path := range []string{"/login/social/nope", "/login/social/nope/callback?code=a&state=b"} {
		if r := b.Get(path); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "social_unknown") {
			t.Fatalf("%s: %d, want 404 social_unknown", path, r.StatusCode)
		}
	}
	r := b.Get("/login/social/down")
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Body, "provider_unavailable") || r.Cookie("social") != nil {
		t.Fatalf("unreachable provider: %d, want 503 provider_unavailable\n%s", r.StatusCode, r.Body)
	}
}

// OAuth 2.0 Form Post Response Mode: the answer posted from the provider's site carries no
// SameSite=Lax cookie, so a portal page posts it again; that page sets no CSRF cookie (it
// would break the user's other portal tabs) and carries only the answer's parameters.
func TestFormPostIsReposted(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	b := e.Browser()
	r := b.Do(http.MethodPost, "/login/social/gh/callback", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"state": {"s1"}, "code": {"c1"}, "other": {"x"}}.Encode()))
	if r.StatusCode != http.StatusOK || r.Cookie("csrf") != nil || r.Cookie("session") != nil ||
		!strings.Contains(r.Body, `value="s1"`) || !strings.Contains(r.Body, `value="c1"`) || strings.Contains(r.Body, `name="other"`) {
		t.Fatalf("form_post: %d %v\n%s", r.StatusCode, r.Cookies(), r.Body)
	}
}

// Linking needs a session and the form's CSRF token; a link with an old login goes back
// to the account page asking for a fresh login (CR-19).
func TestLinkForm(t *testing.T) {
	e, acct := newEnv(t, "octo@example.com")
	b := e.Browser()
	if r := b.PostForm("/account/identities/link/gh", nil); r.StatusCode != http.StatusSeeOther || r.Location() != "/login?return_to=%2F" {
		t.Fatalf("link without a session: %d %q, want 303 to the login page", r.StatusCode, r.Location())
	}
	b.LogIn()
	if r := b.PostForm("/account/identities/link/gh", url.Values{"csrf_token": {"forged"}}); r.StatusCode != http.StatusForbidden || r.Cookie("social") != nil {
		t.Fatalf("link with a forged CSRF token: %d, want 403", r.StatusCode)
	}
	start := b.PostForm("/account/identities/link/gh", nil)
	if start.StatusCode != http.StatusSeeOther || start.Cookie("social") == nil {
		t.Fatalf("link: %d %q, want 303 to the provider", start.StatusCode, start.Location())
	}
	e.Clock.Advance(time.Hour)
	r := b.PostForm("/account/identities/link/gh", nil)
	if r.StatusCode != http.StatusForbidden || acct.status != http.StatusForbidden || !strings.Contains(acct.msg, "Log in again") {
		t.Fatalf("link with an old login: %d, account page %d %q; want 403 there", r.StatusCode, acct.status, acct.msg)
	}
}

// Issue 14 item 10: a failure page is no dead end. It names the provider by its label, says
// what happened in one sentence, and links back to the login page with the page the user
// was going to (return_to) kept.
func TestErrorPagesRetryWithDestination(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	b := e.Browser()
	r := b.Get("/login/social/down?return_to=%2Fapp")
	if r.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(r.Body, "Corp SSO is unavailable right now. Try again in a few minutes") ||
		!strings.Contains(r.Body, `href="/login?return_to=%2Fapp"`) || strings.Contains(r.Body, "the provider") {
		t.Fatalf("unreachable provider: %d\n%s\nwant the label, one sentence and a link back to /login?return_to=/app", r.StatusCode, r.Body)
	}
	// Cancelled at the provider: the callback knows the destination from the login state.
	state := start(t, b, "/login/social/gh?return_to=%2Fapp")
	r = b.Get("/login/social/gh/callback?error=access_denied&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "The login was cancelled at GitHub.") ||
		!strings.Contains(r.Body, `href="/login?return_to=%2Fapp"`) {
		t.Fatalf("cancelled: %d\n%s", r.StatusCode, r.Body)
	}
	// An expired attempt has no destination left: back to the login page.
	if r := e.Browser().Get("/login/social/gh/callback?code=a&state=b"); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Body, `href="/login"`) {
		t.Fatalf("expired: %d\n%s", r.StatusCode, r.Body)
	}
}

// Issue 14 item 10: the same answer submitted twice (double click, back button) by a browser
// that the first one logged in goes on to the destination, not to "Login expired". A
// browser without a session still gets "Login expired" (the state is used up: RFC 6749
// §10.12).
func TestDoubleSubmittedCallbackGoesOn(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	b := e.Browser()
	state := start(t, b, "/login/social/gh?return_to=%2Fapp")
	cb := "/login/social/gh/callback?code=abc&state=" + url.QueryEscape(state)
	if r := b.Get(cb); r.StatusCode != http.StatusSeeOther || r.Location() != "/app" {
		t.Fatalf("first answer: %d %q", r.StatusCode, r.Location())
	}
	if r := b.Get(cb); r.StatusCode != http.StatusSeeOther || r.Location() != "/app" {
		t.Fatalf("second answer: %d %q\n%s, want 303 to /app", r.StatusCode, r.Location(), r.Body)
	}
	if r := e.Browser().Get(cb); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "invalid_state") {
		t.Fatalf("the answer in a browser without a session: %d, want 400 invalid_state", r.StatusCode)
	}
}

// Issue 14 item 10: the "You already have an account" page's login link keeps the
// destination; a finished link goes to the account page, which confirms it.
func TestLinkRequiredKeepsDestinationAndLinkConfirms(t *testing.T) {
	e, _ := newEnv(t, idptest.Alice)
	b := e.Browser()
	state := start(t, b, "/login/social/gh?return_to=%2Fapp")
	r := b.Get("/login/social/gh/callback?code=abc&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "login_hint=alice%40example.com&amp;return_to=%2Fapp") {
		t.Fatalf("link required: %d\n%s, want the login link with return_to", r.StatusCode, r.Body)
	}
	b.LogIn()
	s := b.PostForm("/account/identities/link/gh", nil)
	loc, _ := url.Parse(s.Location())
	r = b.Get("/login/social/gh/callback?code=abc&state=" + url.QueryEscape(loc.Query().Get("state")))
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/?linked=gh" {
		t.Fatalf("link: %d %q, want 303 to the account page's confirmation", r.StatusCode, r.Location())
	}
}

// The failure pages speak the page's language (OpenID Connect Core 1.0 §3.1.2.1 ui_locales,
// carried to the page): the sentence names the provider by its label inside the translated
// text, the title and the link back are translated too, and the provider's label is escaped
// like any value.
func TestErrorPagesTranslated(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	r := e.Browser().Get("/login/social/down?return_to=%2Fapp&ui_locales=de")
	for _, want := range []string{"Anbieter nicht erreichbar", "Corp SSO ist gerade nicht erreichbar.",
		"Zurück zur Anmeldeseite", `href="/login?return_to=%2Fapp"`, `lang="de"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("unreachable provider in German lacks %q:\n%s", want, r.Body)
		}
	}
	if r.StatusCode != http.StatusServiceUnavailable || strings.Contains(r.Body, "is unavailable right now") {
		t.Errorf("unreachable provider in German: %d, English left:\n%s", r.StatusCode, r.Body)
	}
	b := e.Browser()
	state := start(t, b, "/login/social/gh?return_to=%2Fapp")
	r = b.Get("/login/social/gh/callback?error=access_denied&ui_locales=fr&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "La connexion a été annulée chez GitHub.") ||
		!strings.Contains(r.Body, "Connexion annulée") {
		t.Errorf("cancelled, in French: %d\n%s", r.StatusCode, r.Body)
	}
}
