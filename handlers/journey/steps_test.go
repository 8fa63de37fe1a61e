package journey_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	journeyh "github.com/gatehouse-dev/gatehouse/handlers/journey"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/journey"
	"github.com/gatehouse-dev/gatehouse/journey/device"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

func setupSteps(t *testing.T, defs ...journey.Definition) (*portaltest.Env, *journey.Engine) {
	t.Helper()
	e := portaltest.New(t)
	env, err := journey.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	js, err := journey.Compile(defs, env)
	if err != nil {
		t.Fatal(err)
	}
	eng := &journey.Engine{Journeys: js, Env: env, Store: e.Store, Users: e.P.Accounts, Now: e.Clock.Now,
		Verify: e.P.Verification, Devices: &device.Keeper{Key: e.Ring.DeriveKey("journey-device-cookie")}}
	e.Mount(&journeyh.Handler{Kit: e.Kit, Engine: eng, OAuth: e.P.OAuth, Issuer: "https://id.test"})
	return e, eng
}

// runLogin starts journey name and passes its authenticate step with a fresh login; it
// returns the answer after the login.
func runLogin(t *testing.T, e *portaltest.Env, b *portaltest.Browser, name string) *portaltest.Response {
	t.Helper()
	r := b.Get("/journeys/" + name)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login?") {
		t.Fatalf("start: %d %s", r.StatusCode, r.Location())
	}
	back, _ := url.Parse(r.Location())
	e.Clock.Advance(time.Second)
	b.LogIn()
	return b.Get(back.Query().Get("return_to"))
}

// known_device through the HTTP layer: the first journey ends with a long-lived, HttpOnly
// device cookie (the browser was authenticated); the next run of the journey in the same
// browser sees device.known; another browser does not.
func TestKnownDeviceCookie(t *testing.T) {
	e, _ := setupSteps(t, journey.Definition{Name: "dev", Steps: []journey.StepConfig{
		{ID: "login", Type: "authenticate", Methods: []string{"password"}},
		{ID: "device", Type: "known_device"},
		{ID: "b", Type: "branch", Branches: []journey.BranchConfig{{If: "device.known", Goto: "known"}}},
		{ID: "done", Type: "complete", ReturnTo: "/welcome"},
		{ID: "known", Type: "complete", ReturnTo: "/welcome-back"}}})
	b := e.Browser()
	end := runLogin(t, e, b, "dev")
	if end.StatusCode != http.StatusSeeOther || end.Location() != "/welcome" {
		t.Fatalf("first run: %d %s", end.StatusCode, end.Location())
	}
	c := end.Cookie(device.CookieName)
	if c == nil || c.Value == "" || !c.HttpOnly || c.MaxAge < 30*24*3600 {
		t.Fatalf("the device cookie must be set, HttpOnly and long-lived: %+v", c)
	}
	if again := runLogin(t, e, b, "dev"); again.Location() != "/welcome-back" {
		t.Fatalf("the remembered browser must be known: %d %s", again.StatusCode, again.Location())
	}
	// A copy of the cookie value for another user's browser session says nothing: the cookie
	// is bound to alice, and another browser without it is unknown.
	other := e.Browser()
	if r := runLogin(t, e, other, "dev"); r.Location() != "/welcome" {
		t.Fatalf("another browser must be unknown: %s", r.Location())
	}
	// A forged cookie is unknown.
	forger := e.Browser()
	forger.SetCookie(device.CookieName, c.Value[:len(c.Value)-2]+"AA")
	if r := runLogin(t, e, forger, "dev"); r.Location() != "/welcome" {
		t.Fatalf("a forged device cookie must be unknown: %s", r.Location())
	}
}

// register_passkey's page links to the account page's passkey registration and refuses to
// go on until a passkey was added.
func TestRegisterPasskeyPage(t *testing.T) {
	e, _ := setupSteps(t, journey.Definition{Name: "pk", Steps: []journey.StepConfig{
		{ID: "login", Type: "authenticate", Methods: []string{"password"}},
		{ID: "add", Type: "register_passkey"},
		{ID: "done", Type: "complete", ReturnTo: "/welcome"}}})
	b := e.Browser()
	page := runLogin(t, e, b, "pk")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, `data-journey-redirect`) || !strings.Contains(page.Body, `href="/"`) {
		t.Fatalf("the step must link to the passkey registration: %d\n%s", page.StatusCode, page.Body)
	}
	answer := url.Values{"step": {field(t, page.Body, stepRe)}, "counter": {field(t, page.Body, counterRe)}}
	again := b.PostForm("/journey", answer)
	if again.StatusCode != http.StatusOK || !strings.Contains(again.Body, "data-journey-error") {
		t.Fatalf("continuing without a passkey must re-ask: %d\n%s", again.StatusCode, again.Body)
	}
	e.Clock.Advance(time.Second)
	e.AddPasskey("Laptop")
	answer.Set("counter", field(t, again.Body, counterRe))
	if done := b.PostForm("/journey", answer); done.StatusCode != http.StatusSeeOther || done.Location() != "/welcome" {
		t.Fatalf("after adding a passkey: %d %s\n%s", done.StatusCode, done.Location(), done.Body)
	}
}

// authorizeRoute mounts /test-authorize/{journey}: an authorization request of the "web"
// client starting the journey, as handlers/oidc does; with ?pushed=<handle> the request
// carries journey_context as a pushed parameter (what a pushed authorization request of the
// client gives; PAR itself is h/approval's).
func authorizeRoute(t *testing.T, e *portaltest.Env, h *journeyh.Handler) {
	e.Mux.HandleFunc("GET /test-authorize/{journey}", func(w http.ResponseWriter, r *http.Request) {
		in := oauth.AuthParams{ClientID: "web", RedirectURI: idptest.WebCB, ResponseType: "code", State: "st",
			Scopes: []string{"openid"}, CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", MaxAge: -1}
		req, _, oerr := e.P.OAuth.Authorize(r.Context(), in)
		if oerr != nil {
			t.Errorf("authorize: %v", oerr)
			return
		}
		if hd := r.URL.Query().Get("pushed"); hd != "" {
			req.Pushed, req.PushedParams = true, url.Values{"journey_context": {hd}}
		}
		h.StartAuthorization(w, r, r.PathValue("journey"), req, in)
	})
}

// contextJourneys serves /test-authorize/{first,second}: "first" logs in with a password
// and saves the context, "second" restores it.
func contextJourneys(t *testing.T) *portaltest.Env {
	t.Helper()
	e, eng := setupSteps(t,
		journey.Definition{Name: "first", Steps: []journey.StepConfig{
			{ID: "login", Type: "authenticate", Methods: []string{"password"}},
			{ID: "save", Type: "save_context"},
			{ID: "done", Type: "complete"}}},
		journey.Definition{Name: "second", Steps: []journey.StepConfig{
			{ID: "restore", Type: "restore_context"},
			{ID: "done", Type: "complete"}}})
	authorizeRoute(t, e, &journeyh.Handler{Kit: e.Kit, Engine: eng, OAuth: e.P.OAuth, Issuer: "https://id.test"})
	return e
}

// save_context / restore_context through the HTTP layer (the seed's "Restore User
// Context"): the first journey's authorization response carries journey_context beside the
// code; the client hands it back (pushed) to a second journey, which completes without a
// login; the same handle again is access_denied.
func TestContextHandleThroughAuthorization(t *testing.T) {
	e := contextJourneys(t)
	b := e.Browser()
	r := b.Get("/test-authorize/first")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d %s\n%s", r.StatusCode, r.Location(), r.Body)
	}
	back, _ := url.Parse(r.Location())
	e.Clock.Advance(time.Second)
	b.LogIn()
	end := b.Get(back.Query().Get("return_to"))
	loc, _ := url.Parse(end.Location())
	handle := loc.Query().Get("journey_context")
	if end.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || handle == "" {
		t.Fatalf("the first journey must answer with a code and journey_context: %d %s", end.StatusCode, end.Location())
	}
	// Another browser (no session) runs the second journey with the pushed handle.
	other := e.Browser()
	r2 := other.Get("/test-authorize/second?pushed=" + url.QueryEscape(handle))
	loc2, _ := url.Parse(r2.Location())
	if r2.StatusCode != http.StatusFound || loc2.Query().Get("code") == "" {
		t.Fatalf("restore must complete with a code: %d %s\n%s", r2.StatusCode, r2.Location(), r2.Body)
	}
	r3 := e.Browser().Get("/test-authorize/second?pushed=" + url.QueryEscape(handle))
	loc3, _ := url.Parse(r3.Location())
	if r3.StatusCode != http.StatusFound || loc3.Query().Get("error") != "access_denied" || loc3.Query().Get("code") != "" {
		t.Fatalf("a used handle must be access_denied: %d %s", r3.StatusCode, r3.Location())
	}
}

// An authenticate step without methods accepts any enabled method: the browser goes to the
// hosted login (which offers every enabled method), not to an empty journey form — on the
// start and on a reload of /journey.
func TestAuthenticateWithoutMethodsGoesToHostedLogin(t *testing.T) {
	e, _ := setupSteps(t, journey.Definition{Name: "any", Steps: []journey.StepConfig{
		{ID: "login", Type: "authenticate"}, {ID: "done", Type: "complete", ReturnTo: "/welcome"}}})
	b := e.Browser()
	r := b.Get("/journeys/any")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login?") {
		t.Fatalf("start: %d %q %s", r.StatusCode, r.Location(), r.Body)
	}
	if again := b.Get("/journey"); again.StatusCode != http.StatusSeeOther || !strings.HasPrefix(again.Location(), "/login?") {
		t.Fatalf("reload: %d %q", again.StatusCode, again.Location())
	}
	if end := runLogin(t, e, b, "any"); end.StatusCode != http.StatusSeeOther || end.Location() != "/welcome" {
		t.Fatalf("after a password login: %d %s", end.StatusCode, end.Location())
	}
}

// A second factor that the settings require after the password (login.mfa.password:
// required, issue 18: "take effect on the next request") holds for journeys too: a journey
// whose authenticate step accepted a password-only session, or whose restore_context
// brought back a password-only login, gets no authorization code (access_denied), as
// /authorize refuses such a session. Relaxed again, the same journey issues a code.
func TestJourneyCodeNeedsTheRequiredSecondFactor(t *testing.T) {
	e := contextJourneys(t)
	var required atomic.Bool
	e.P.MFA.Required = func(amr []string) bool { return required.Load() && slices.Contains(amr, "pwd") }
	refused := func(what string, r *portaltest.Response) {
		t.Helper()
		loc, _ := url.Parse(r.Location())
		if r.StatusCode != http.StatusFound || loc.Query().Get("code") != "" || loc.Query().Get("error") != "access_denied" {
			t.Fatalf("%s: %d %s, want access_denied and no code", what, r.StatusCode, r.Location())
		}
	}
	run := func(b *portaltest.Browser) *portaltest.Response {
		t.Helper()
		r := b.Get("/test-authorize/first")
		back, _ := url.Parse(r.Location())
		e.Clock.Advance(time.Second)
		b.LogIn()
		return b.Get(back.Query().Get("return_to"))
	}

	// A password login, then the setting: its context is saved while it is relaxed.
	end := run(e.Browser())
	loc, _ := url.Parse(end.Location())
	handle := loc.Query().Get("journey_context")
	if end.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || handle == "" {
		t.Fatalf("relaxed: %d %s, want a code and journey_context", end.StatusCode, end.Location())
	}
	required.Store(true)
	refused("restore_context of a password-only login", e.Browser().Get("/test-authorize/second?pushed="+url.QueryEscape(handle)))
	refused("authenticate with a password-only session", run(e.Browser()))

	required.Store(false)
	end = run(e.Browser())
	if loc, _ := url.Parse(end.Location()); end.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("relaxed again: %d %s, want a code", end.StatusCode, end.Location())
	}
}
