package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// reauthSites: /recent/* needs a login from the last 8 seconds, /admin/* a multi-factor
// login (acr aal2), everything else any login.
const reauthSites = `
{{.App}} {
	bind 127.0.0.1
	@recent path /recent/*
	gatehouse_protect @recent {
		client app
		max_age 8s
	}
	@admin path /admin/*
	gatehouse_protect @admin {
		client app
		acr aal2
	}
	gatehouse_protect {
		client app
	}
	reverse_proxy {{.UpstreamAddr}}
}`

// TestReauthMaxAgeAndACR: `max_age` on a route — RFC 9470 §3, "max_age: Indicates the
// allowable elapsed time in seconds since the last active authentication event associated
// with the access token". An API client whose token's login is older gets 401 with
// error="insufficient_user_authentication" and max_age="8" in WWW-Authenticate; a browser is
// sent to the portal with max_age, which asks for the password again (OIDC Core §3.1.2.1,
// OC-11), and after it comes back to the page. `acr aal2` likewise (CR-18): an API client gets
// the challenge with acr_values="aal2", a password-only browser is sent to step up and lands
// on the portal's second-factor page; neither reaches the upstream.
func TestReauthMaxAgeAndACR(t *testing.T) {
	e := Start(t, Config{Localhost: true, Gatehouse: AppClient, Sites: reauthSites})
	const ada = "ada@example.test"
	e.CreateUser(ada)
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/docs", ada, Password); r.Status != http.StatusOK || r.URL.Path != "/docs" {
		t.Fatalf("login at the app: %s", r)
	}
	loggedIn := time.Now()
	at := e.AccessToken(b, "openid")
	if r := b.Go(http.MethodGet, e.App+"/recent/x", nil, nil); r.Status != http.StatusOK || r.URL.Path != "/recent/x" {
		t.Fatalf("max_age route right after the login: %s (hops %v)", r, r.Hops)
	}
	if r := Get(t, e.App+"/recent/x", at); r.Status != http.StatusOK {
		t.Fatalf("max_age route, API, right after the login: %s", r)
	}

	t.Run("acr aal2", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		r := Get(t, e.App+"/admin/x", at)
		h := wwwAuth(r)
		if r.Status != http.StatusUnauthorized || !strings.Contains(h, `error="insufficient_user_authentication"`) || !strings.Contains(h, `acr_values="aal2"`) {
			t.Errorf("API, password login on an acr aal2 route: %s, WWW-Authenticate %q", r, h)
		}
		r = b.Go(http.MethodGet, e.App+"/admin/x", nil, nil)
		stepUp := false
		for _, hop := range r.Hops {
			stepUp = stepUp || (strings.Contains(hop, "/authorize?") && strings.Contains(hop, "acr_values=aal2"))
		}
		if !stepUp || r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Set up a second factor") {
			t.Errorf("browser on an acr aal2 route: want the step-up to the portal's second-factor page, got %s (hops %v)", r, r.Hops)
		}
		if n := e.Upstream.Count(); n != before {
			t.Errorf("the upstream was reached %d times without a multi-factor login", n-before)
		}
	})

	time.Sleep(time.Until(loggedIn.Add(9 * time.Second)))

	t.Run("max_age API", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		r := Get(t, e.App+"/recent/x", at)
		h := wwwAuth(r)
		for _, want := range []string{"Bearer ", `error="insufficient_user_authentication"`, `max_age="8"`} {
			if !strings.Contains(h, want) {
				t.Errorf("login older than max_age: WWW-Authenticate %q lacks %s", h, want)
			}
		}
		if r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "insufficient_user_authentication" {
			t.Errorf("login older than max_age: %s", r)
		}
		if r := Get(t, e.App+"/docs", at); r.Status != http.StatusOK {
			t.Errorf("the same token on a route without max_age: %s", r)
		}
		if n := e.Upstream.Count(); n != before+1 {
			t.Errorf("upstream reached %d times, want once (the route without max_age)", n-before)
		}
	})

	t.Run("max_age browser", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		r := b.Go(http.MethodGet, e.App+"/recent/x?y=1", nil, nil)
		asked := false
		for _, hop := range r.Hops {
			asked = asked || (strings.Contains(hop, "/authorize?") && strings.Contains(hop, "max_age=8"))
		}
		if !asked || r.Status != http.StatusOK || !strings.HasPrefix(r.URL.Path, "/login") {
			t.Fatalf("browser with an old login: want the portal's login page via /authorize with max_age=8, got %s (hops %v)", r, r.Hops)
		}
		if n := e.Upstream.Count(); n != before {
			t.Fatalf("the upstream was reached before the new login")
		}
		r = e.SubmitLogin(b, r, ada, Password, nil)
		if r.Status != http.StatusOK || r.URL.Path != "/recent/x" || r.URL.RawQuery != "y=1" {
			t.Fatalf("after logging in again: %s (hops %v)", r, r.Hops)
		}
		if rec := e.Upstream.Last(t); rec.URI != "/recent/x?y=1" {
			t.Errorf("upstream got %q", rec.URI)
		}
	})
}
