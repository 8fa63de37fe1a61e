package journey_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	journeyh "github.com/gatehouse-dev/gatehouse/handlers/journey"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/journey"
)

var (
	stepRe      = regexp.MustCompile(`name="step" value="([^"]*)"`)
	counterRe   = regexp.MustCompile(`name="counter" value="([^"]*)"`)
	loginLinkRe = regexp.MustCompile(`href="([^"]*)" data-journey-login`)
)

func field(t *testing.T, body string, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, body)
	}
	return m[1]
}

func setup(t *testing.T) (*portaltest.Env, *portaltest.Browser) {
	t.Helper()
	e := portaltest.New(t)
	env, err := journey.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	js, err := journey.Compile([]journey.Definition{{Name: "prof", Steps: []journey.StepConfig{
		{ID: "login", Type: "authenticate", Methods: []string{"password"}},
		{ID: "more", Type: "collect", Fields: []journey.FieldConfig{{Name: "company", Required: true}}},
		{ID: "save", Type: "write_user", Set: map[string]string{"organization": "journey.company"}},
		{ID: "done", Type: "complete", ReturnTo: "/welcome"}}}}, env)
	if err != nil {
		t.Fatal(err)
	}
	eng := &journey.Engine{Journeys: js, Env: env, Store: e.Store, Users: e.P.Accounts, Now: e.Clock.Now}
	e.Mount(&journeyh.Handler{Kit: e.Kit, Engine: eng, OAuth: e.P.OAuth, Issuer: "https://id.test"})
	return e, e.Browser()
}

// The self-service journey through the HTTP layer: start, the hosted login and back, the
// form, the end at return_to. A form answering an old counter gets 409; after the end the
// journey cookie answers 400.
func TestSelfServiceJourney(t *testing.T) {
	e, b := setup(t)
	r := b.Get("/journeys/prof")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login?") {
		t.Fatalf("start: %d %s", r.StatusCode, r.Location())
	}
	if b.CookieValue(journeyh.Cookie) == "" {
		t.Fatal("no journey cookie")
	}
	back, _ := url.Parse(r.Location())
	ret := back.Query().Get("return_to")
	// Coming back without a new login: the step asks again, with a new login link.
	again := b.Get(ret)
	if again.StatusCode != http.StatusOK || !strings.Contains(again.Body, "data-journey-login") {
		t.Fatalf("back without a login: %d\n%s", again.StatusCode, again.Body)
	}
	link, _ := url.Parse(html.UnescapeString(field(t, again.Body, loginLinkRe)))
	ret2 := link.Query().Get("return_to")
	e.Clock.Advance(time.Second)
	b.LogIn()
	// The first return is used up.
	if r := b.Get(ret); r.StatusCode != http.StatusConflict {
		t.Fatalf("the first return again: %d", r.StatusCode)
	}
	form := b.Get(ret2)
	if form.StatusCode != http.StatusOK || !strings.Contains(form.Body, `data-step="more"`) {
		t.Fatalf("after login: %d\n%s", form.StatusCode, form.Body)
	}
	answer := url.Values{"step": {field(t, form.Body, stepRe)}, "counter": {field(t, form.Body, counterRe)}, "company": {"Acme"}}
	stale := url.Values{"step": {"more"}, "counter": {"0"}, "company": {"Evil"}}
	if r := b.PostForm("/journey", stale); r.StatusCode != http.StatusConflict {
		t.Fatalf("stale counter: %d", r.StatusCode)
	}
	done := b.PostForm("/journey", answer)
	if done.StatusCode != http.StatusSeeOther || done.Location() != "/welcome" {
		t.Fatalf("end: %d %q\n%s", done.StatusCode, done.Location(), done.Body)
	}
	u, _ := e.Store.GetUser(e.Ctx, e.User.ID)
	if u.Organization != "Acme" {
		t.Fatalf("organization %q", u.Organization)
	}
	if r := b.PostForm("/journey", answer); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replay after the end: %d", r.StatusCode)
	}
}

// A form without the browser's CSRF token is refused before the journey is read.
func TestJourneyFormNeedsCSRF(t *testing.T) {
	_, b := setup(t)
	b.Get("/journeys/prof")
	r := b.Do(http.MethodPost, "/journey", "application/x-www-form-urlencoded", strings.NewReader("step=login&counter=0"))
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", r.StatusCode)
	}
}
