package account

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

const firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// otherBrowser returns a new browser logged in as u with a session started with meta.
func otherBrowser(t *testing.T, e *portaltest.Env, u store.User, meta sessions.Meta) (*portaltest.Browser, store.Session) {
	t.Helper()
	sec, s, err := e.P.Sessions.Start(e.Ctx, u, []string{"pwd"}, meta)
	if err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	rec := httptest.NewRecorder()
	if err := e.Kit.Cookie.Issue(rec, httptest.NewRequest(http.MethodGet, e.Srv.URL+"/", nil), sec); err != nil {
		t.Fatal(err)
	}
	u2, _ := url.Parse(e.Srv.URL + "/")
	b.Client.Jar.SetCookies(u2, rec.Result().Cookies())
	return b, s
}

// Issue 16 (sessions): the account page lists the user's sessions with the browser and
// system in coarse words, the IP, when it started and was last seen, this one marked; "Log
// out" on another session ends it (that browser is sent to the login page next), "Log out"
// on this one or on another user's session is refused.
func TestSessionsListAndEnd(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	other, os := otherBrowser(t, e, e.User, sessions.Meta{UserAgent: firefoxLinux, IP: "198.51.100.7"})
	page := b.Get("/").Body
	for _, want := range []string{"Where you are logged in", "Firefox on Linux", "198.51.100.7", "192.0.2.1", "this session", `data-session="` + os.ID + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if n := strings.Count(page, "data-end-session"); n != 1 {
		t.Errorf("%d per-session Log out buttons, want 1 (not on this session)", n)
	}
	if r := other.Get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("the other browser before: %d", r.StatusCode)
	}
	if r := b.PostForm("/account/sessions/end", url.Values{"session": {os.ID}}); r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("end the other session: %d %q", r.StatusCode, r.Location())
	}
	if r := other.Get("/"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Fatalf("the other browser after: %d %q, want the login page", r.StatusCode, r.Location())
	}
	if r := b.PostForm("/account/sessions/end", url.Values{"session": {os.ID}}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("end it again: %d", r.StatusCode)
	}
	var list struct {
		Sessions []sessionJSON `json:"sessions"`
	}
	b.Get("/api/v1/account/sessions").JSON(t, &list)
	if len(list.Sessions) != 1 || !list.Sessions[0].Current {
		t.Fatalf("sessions after: %+v", list)
	}
	if r := b.PostForm("/account/sessions/end", url.Values{"session": {list.Sessions[0].ID}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("end this session with the per-session form: %d", r.StatusCode)
	}
	if r := b.SendJSON(http.MethodDelete, "/api/v1/account/sessions/"+list.Sessions[0].ID, ""); r.StatusCode != http.StatusConflict {
		t.Fatalf("API: end this session: %d", r.StatusCode)
	}
	// Another user's session cannot be ended from this account.
	bob, err := e.P.Accounts.Create(e.Ctx, idp.NewUser{Email: "bob@example.com", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}
	bobBrowser, bs := otherBrowser(t, e, bob, sessions.Meta{})
	if r := b.PostForm("/account/sessions/end", url.Values{"session": {bs.ID}}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("end another user's session: %d", r.StatusCode)
	}
	if r := b.SendJSON(http.MethodDelete, "/api/v1/account/sessions/"+bs.ID, ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("API: end another user's session: %d", r.StatusCode)
	}
	if r := bobBrowser.Get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("bob's session was ended: %d", r.StatusCode)
	}
}

// Issue 16: "Log out everywhere else" ends every other session of the user and keeps this
// one; other users' sessions are untouched.
func TestSessionsLogOutEverywhereElse(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	o1, _ := otherBrowser(t, e, e.User, sessions.Meta{UserAgent: firefoxLinux})
	o2, _ := otherBrowser(t, e, e.User, sessions.Meta{})
	if !strings.Contains(b.Get("/").Body, "Log out everywhere else") {
		t.Fatal("no Log out everywhere else")
	}
	if r := b.PostForm("/account/sessions/end-others", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("log out everywhere else: %d", r.StatusCode)
	}
	for i, o := range []*portaltest.Browser{o1, o2} {
		if r := o.Get("/"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("other browser %d still logged in: %d", i, r.StatusCode)
		}
	}
	page := b.Get("/").Body
	if strings.Count(page, "data-session=") != 1 || strings.Contains(page, "Log out everywhere else") {
		t.Fatal("the page still lists other sessions")
	}
}

// PX-24 (CSRF on security settings): ending a session by a cross-site POST, or without this
// browser's CSRF token, is refused and the session lives on.
func TestPX24_EndSessionCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	other, os := otherBrowser(t, e, e.User, sessions.Meta{})
	b.Header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
	for _, path := range []string{"/account/sessions/end", "/account/sessions/end-others"} {
		if r := b.PostForm(path, url.Values{"session": {os.ID}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", path, r.StatusCode)
		}
	}
	b.Header = nil
	for _, path := range []string{"/account/sessions/end", "/account/sessions/end-others"} {
		if r := b.PostForm(path, url.Values{"session": {os.ID}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s without a CSRF token: %d", path, r.StatusCode)
		}
	}
	if r := other.Get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("a refused request ended the session: %d", r.StatusCode)
	}
}

// The account page names a session's browser and system in coarse words.
func TestDescribeAgent(t *testing.T) {
	for ua, want := range map[string]string{
		firefoxLinux: "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                         "Chrome on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0":           "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":                   "Safari on macOS",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":                            "Chrome on Android",
		"curl/8.5.0": "curl",
		"":           "Unknown device",
	} {
		if got := describeAgent(ua); got != want {
			t.Errorf("describeAgent(%q) = %q, want %q", ua, got, want)
		}
	}
}
