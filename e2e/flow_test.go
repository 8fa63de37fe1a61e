package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestQuickstartSignupFlow: the quickstart experience end to end — a browser opens the
// protected site, is sent through /authorize to the login page, signs up with `signup open`
// and lands on the page it asked for; the upstream receives the identity headers and the
// {gatehouse.*} / {http.auth.user.id} placeholders resolve for later handlers
// (THREATS.md OC-01 happy path, PX-01 injection side).
func TestQuickstartSignupFlow(t *testing.T) {
	e := Start(t, Config{
		Gatehouse: `signup open
		login password
		product_name "E2E quickstart"` + AppClient,
		Sites: `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		scope read:docs
		header X-Remote-User {gatehouse.user.email}
	}
	request_header X-Placeholder-Sub {gatehouse.user.id}
	request_header X-Caddy-Auth-User {http.auth.user.id}
	reverse_proxy {{.UpstreamAddr}}
}`,
	})
	b := NewBrowser(t)
	target := e.App + "/docs/page?x=1&y=two"

	// The protected page sends the browser to the login page through /authorize.
	login := b.Go(http.MethodGet, target, nil, nil)
	if login.Status != http.StatusOK || login.URL.Path != "/login" {
		t.Fatalf("expected the login page, got %s (hops %v)", login, login.Hops)
	}
	if !strings.HasPrefix(login.Hops[1], "GET "+e.Issuer+"/authorize?") {
		t.Fatalf("the protected site did not redirect to /authorize: %v", login.Hops)
	}
	returnTo := FormField(t, login, returnToRe)
	if !strings.HasPrefix(returnTo, "/authorize?") {
		t.Fatalf("login return_to = %q, want the authorization request", returnTo)
	}

	// Sign up instead, carrying the authorization request along.
	signup := b.Go(http.MethodGet, e.Issuer+"/signup?return_to="+url.QueryEscape(returnTo), nil, nil)
	if signup.Status != http.StatusOK {
		t.Fatalf("signup page: %s", signup)
	}
	email := "grace@example.test"
	final := b.Go(http.MethodPost, e.Issuer+"/signup", url.Values{
		"csrf_token": {FormField(t, signup, csrfRe)}, "return_to": {FormField(t, signup, returnToRe)},
		"email": {email}, "password": {Password}, "fname": {"Grace"}, "lname": {"Hopper"},
	}, nil)
	if final.Status != http.StatusOK || final.URL.String() != target {
		t.Fatalf("after sign-up expected the protected page %s, got %s\nhops: %v", target, final, final.Hops)
	}

	// The upstream saw the identity.
	u := e.Admin(http.MethodGet, "/gatehouse/users/"+url.PathEscape(email), nil)
	if u.Status != http.StatusOK {
		t.Fatalf("admin show user: %s", u)
	}
	id := u.JSON(t)["id"].(string)
	rec := e.Upstream.Last(t)
	if rec.URI != "/docs/page?x=1&y=two" {
		t.Errorf("upstream URI = %q", rec.URI)
	}
	want := map[string]string{
		"X-User-Id":         id,
		"X-User-Name":       "Grace Hopper",
		"X-Placeholder-Sub": id, // {gatehouse.user.id} in a later handler
		"X-Caddy-Auth-User": id, // {http.auth.user.id}
	}
	for name, v := range want {
		if got := rec.Values(name); !slices.Equal(got, []string{v}) {
			t.Errorf("upstream %s = %q, want [%q]", name, got, v)
		}
	}
	// A self-registered address is not verified: it must not be injected as identity, or
	// anyone could sign up as ceo@ and be trusted by an app keyed on the email (CR-32).
	for _, name := range []string{"X-User-Email", "X-Remote-User"} {
		if got := rec.Values(name); got != nil {
			t.Errorf("unverified email injected: upstream %s = %q, want absent", name, got)
		}
	}
	if got := rec.Values("X-User-Groups"); got != nil {
		t.Errorf("user without groups: upstream X-User-Groups = %q, want absent", got)
	}
	for _, c := range rec.Cookies() {
		if strings.Contains(c, "gatehouse_") {
			t.Errorf("upstream received Gatehouse cookie %s (PX-30)", c)
		}
	}

	// The portal session is live too, and a second visit needs no login.
	s := Do(t, b.C, NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil))
	if s.Status != http.StatusOK || s.JSON(t)["authenticated"] != true {
		t.Errorf("session API after sign-up: %s", s)
	}
	again := b.Go(http.MethodGet, e.App+"/other", nil, nil)
	if again.Status != http.StatusOK || len(again.Hops) != 1 {
		t.Errorf("second visit: %s (hops %v)", again, again.Hops)
	}
}

// TestLogoutRevokesSessionAndTokens: logging out through the protected site's
// /.gatehouse/logout (GET shows a form, only the POST with its csrf_token logs out, PX-23)
// ends the portal session; afterwards the old site cookie, the old portal cookie, an access
// token and a refresh token obtained before the logout are all refused (PX-29, JW-26,
// AS-17). Logging out at the portal's own /logout has the same effect on the site.
func TestLogoutRevokesSessionAndTokens(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("alice@example.test")
	e.CreateUser("bob@example.test")

	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/home", "alice@example.test", Password); r.Status != http.StatusOK || r.URL.Path != "/home" {
		t.Fatalf("browser login: %s", r)
	}
	siteCookie := b.Cookie(e.App, "gatehouse_auth")
	portalCookie := b.Cookie(e.Issuer, "gatehouse_session")
	if siteCookie == "" || portalCookie == "" {
		t.Fatalf("missing cookies: site %q portal %q", siteCookie, portalCookie)
	}
	// Tokens from the code flow in the same portal session.
	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email read:docs")
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
	if r := Get(t, e.App+"/api", at); r.Status != http.StatusOK {
		t.Fatalf("access token before logout: %s", r)
	}
	if r := e.Userinfo(at); r.Status != http.StatusOK {
		t.Fatalf("userinfo before logout: %s", r)
	}

	// GET shows a confirmation form and logs nobody out (PX-23).
	form := b.Go(http.MethodGet, e.App+"/.gatehouse/logout?return_to=%2Fstill-in", nil, nil)
	if form.Status != http.StatusOK {
		t.Fatalf("logout page: %s", form)
	}
	// Issue 14 item 8: the site's confirmation carries the brand and a Cancel back to the
	// page the user was on (a local path only).
	if !strings.Contains(string(form.Body), `class="brand"`) || !strings.Contains(string(form.Body), `<a href="/still-in" data-cancel>Cancel</a>`) {
		t.Errorf("the site's logout page has no brand or no Cancel: %s", form)
	}
	csrf := FormField(t, form, csrfRe)
	if r := b.Go(http.MethodGet, e.App+"/still-in", nil, nil); r.Status != http.StatusOK || len(r.Hops) != 1 {
		t.Fatalf("GET on the logout page logged the user out: %s", r)
	}
	// A POST without the right token is refused.
	if r := b.Do(http.MethodPost, e.App+"/.gatehouse/logout", url.Values{"csrf_token": {"forged"}}); r.Status != http.StatusForbidden {
		t.Fatalf("logout POST with a wrong csrf_token: %s", r)
	}
	if r := Get(t, e.App+"/api", at); r.Status != http.StatusOK {
		t.Fatalf("a refused logout POST ended the session: %s", r)
	}

	// The real logout.
	out := b.Go(http.MethodPost, e.App+"/.gatehouse/logout", url.Values{"csrf_token": {csrf}}, nil)
	if out.Status != http.StatusOK || out.URL.String() != e.Issuer+"/logout?client_id=app" {
		t.Fatalf("logout: %s (hops %v)", out, out.Hops)
	}
	// "log in again" returns to the app (the origin of the client's first redirect URI).
	if want := `href="` + e.App + `/" data-login-again`; !strings.Contains(string(out.Body), want) || !strings.Contains(string(out.Body), "Test app") {
		t.Errorf("the logged-out page's \"log in again\" does not return to the app (%s): %s", want, out)
	}
	if b.Cookie(e.App, "gatehouse_auth") != "" {
		t.Errorf("the site cookie was not cleared")
	}

	before := e.Upstream.Count()
	// The old site cookie, replayed by an API client and by a browser.
	req := NewRequest(t, http.MethodGet, e.App+"/home", nil)
	req.Header.Set("Cookie", "gatehouse_auth="+siteCookie)
	if r := Do(t, API, req); r.Status != http.StatusUnauthorized {
		t.Errorf("old site cookie after logout (API): %s", r)
	}
	req = NewRequest(t, http.MethodGet, e.App+"/home", nil)
	req.Header.Set("Cookie", "gatehouse_auth="+siteCookie)
	req.Header.Set("Accept", "text/html")
	if r := Do(t, API, req); r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), e.Issuer+"/authorize?") {
		t.Errorf("old site cookie after logout (browser): want a new login, got %s", r)
	}
	// The old portal cookie.
	req = NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil)
	req.Header.Set("Cookie", "gatehouse_session="+portalCookie)
	if r := Do(t, API, req); r.Status != http.StatusUnauthorized {
		t.Errorf("old portal cookie after logout: %s", r)
	}
	// Tokens from before the logout.
	if r := Get(t, e.App+"/api", at); r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("access token after logout at the protected route: %s %v", r, r.Header.Get("WWW-Authenticate"))
	}
	if r := e.Userinfo(at); r.Status != http.StatusUnauthorized {
		t.Errorf("access token after logout at /userinfo: %s", r)
	}
	if r := e.Refresh("app", rt); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_grant" {
		t.Errorf("refresh token after logout: %s", r)
	}
	if n := e.Upstream.Count(); n != before {
		t.Errorf("requests after logout reached the upstream (%d)", n-before)
	}

	// Logging out at the portal itself ends the site session too.
	b2 := NewBrowser(t)
	if r := e.BrowserLogin(b2, e.App+"/home", "bob@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("bob's login: %s", r)
	}
	bobCookie := b2.Cookie(e.App, "gatehouse_auth")
	page := b2.Go(http.MethodGet, e.Issuer+"/logout", nil, nil)
	if page.Status != http.StatusOK {
		t.Fatalf("portal logout page: %s", page)
	}
	if r := b2.Go(http.MethodPost, e.Issuer+"/logout", url.Values{"csrf_token": {FormField(t, page, csrfRe)}}, nil); r.Status != http.StatusOK {
		t.Fatalf("portal logout: %s", r)
	}
	req = NewRequest(t, http.MethodGet, e.App+"/home", nil)
	req.Header.Set("Cookie", "gatehouse_auth="+bobCookie)
	if r := Do(t, API, req); r.Status != http.StatusUnauthorized {
		t.Errorf("site cookie after portal logout: %s", r)
	}
}

// TestExamplesAdapt: every example Caddyfile under examples/ adapts to a JSON configuration
// (the examples bind fixed ports, so they are adapted, not started; TestQuickstartSignupFlow
// runs the quickstart's setup on free ports).
func TestExamplesAdapt(t *testing.T) {
	files, err := filepath.Glob("../examples/*/Caddyfile")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example Caddyfiles found: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": f}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestInviteSignup: with `signup invite`, sign-up needs a single-use invitation from the
// admin API (`gatehouse invite`); an invitation bound to an address works only for it and
// gives the new user its groups; the first ID token of the new account says new_user, the
// next does not; sign-up is refused when closed.
func TestInviteSignup(t *testing.T) {
	e := Start(t, Config{Gatehouse: `signup invite` + AppClient, Sites: AppSite})
	inv := e.Admin(http.MethodPost, "/gatehouse/invites", map[string]any{"email": "uma@example.test", "groups": []string{"beta"}})
	if inv.Status != http.StatusCreated {
		t.Fatalf("invite: %s", inv)
	}
	code := inv.JSON(t)["code"].(string)
	signup := func(b *Browser, email, invite string) *Resp {
		t.Helper()
		req := NewRequest(t, http.MethodPost, e.Issuer+"/api/v1/signup", map[string]string{"email": email,
			"password": Password, "invite": invite, "fname": "Uma"})
		return Do(t, b.C, req)
	}
	b := NewBrowser(t)
	if r := signup(b, "uma@example.test", ""); r.Status != http.StatusForbidden {
		t.Errorf("sign-up without an invitation: %s", r)
	}
	if r := signup(b, "other@example.test", code); r.Status != http.StatusForbidden {
		t.Errorf("sign-up with an invitation for another address: %s", r)
	}
	r := signup(b, "uma@example.test", code)
	if r.Status != http.StatusCreated || !slices.Equal(toStrings(r.JSON(t)["user"].(map[string]any)["groups"]), []string{"beta"}) {
		t.Fatalf("sign-up with the invitation: %s", r)
	}
	if r := signup(NewBrowser(t), "uma2@example.test", code); r.Status != http.StatusForbidden {
		t.Errorf("second use of the invitation: %s", r)
	}
	// new_user is reported once, by the first code of the session that created the account.
	for i, want := range []bool{true, false} {
		idt := e.Tokens(b, "app", e.RP+"/app-cb", "openid")["id_token"].(string)
		_, claims, _ := splitJWT(t, idt)
		if claims["new_user"] != want {
			t.Errorf("ID token %d: new_user = %v, want %v", i+1, claims["new_user"], want)
		}
	}

	closed := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	if r := Do(t, API, NewRequest(t, http.MethodPost, closed.Issuer+"/api/v1/signup",
		map[string]string{"email": "v@example.test", "password": Password})); r.Status != http.StatusForbidden {
		t.Errorf("sign-up when closed: %s", r)
	}
	if r := NewBrowser(t).Do(http.MethodGet, closed.Issuer+"/signup", nil); r.Status != http.StatusForbidden {
		t.Errorf("sign-up page when closed: %s", r)
	}
}
