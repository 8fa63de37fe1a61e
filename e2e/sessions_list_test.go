package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var otherSessionRe = regexp.MustCompile(`data-session="([^"]+)">`)

// TestSessionListEndsAnotherBrowser — issue 16: "The session list shows a second browser's
// session, and ending it from the first makes the second's next protected request go to
// the login page." Two browsers (two cookie jars) log in through a gatehouse_protect site
// on real Caddy; the first sees both sessions on its account page (its own marked) and
// logs the other out; the second browser's next request to the protected site, which
// carries a protect cookie that was valid a moment before, is sent to the login page within
// a second, and the upstream never sees it.
func TestSessionListEndsAnotherBrowser(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	const ada = "ada@example.test"
	e.CreateUser(ada)
	first, second := NewBrowser(t), NewBrowser(t)
	if r := e.BrowserLogin(first, e.App+"/docs/first", ada, Password); r.Status != http.StatusOK || r.URL.Path != "/docs/first" {
		t.Fatalf("first browser: %s", r)
	}
	if r := e.BrowserLogin(second, e.App+"/docs/second", ada, Password); r.Status != http.StatusOK || r.URL.Path != "/docs/second" {
		t.Fatalf("second browser: %s", r)
	}
	if r := second.Go(http.MethodGet, e.App+"/docs/second-again", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("second browser, protected request before: %s", r)
	}

	page := first.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	body := string(page.Body)
	if n := strings.Count(body, "data-session="); n != 2 || strings.Count(body, "this session") != 1 {
		t.Fatalf("account page lists %d sessions, want 2 with this one marked:\n%s", n, truncate(body, 3000))
	}
	m := otherSessionRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no other session on the page:\n%s", truncate(body, 3000))
	}
	r := first.Go(http.MethodPost, e.Issuer+"/account/sessions/end",
		url.Values{"csrf_token": {FormField(t, page, csrfRe)}, "session": {m[1]}}, nil)
	ended := time.Now()
	if r.Status != http.StatusOK || strings.Count(string(r.Body), "data-session=") != 1 {
		t.Fatalf("after ending the other session: %s", r)
	}

	next := second.Do(http.MethodGet, e.App+"/docs/after", nil)
	elapsed := time.Since(ended)
	if next.Status != http.StatusFound {
		t.Fatalf("second browser's next protected request: %s, want a redirect to log in", next)
	}
	final := second.Go(http.MethodGet, next.Location(t).String(), nil, nil)
	if final.Status != http.StatusOK || !strings.HasPrefix(final.URL.Path, "/login") || !strings.HasPrefix(final.URL.String(), e.Issuer) {
		t.Fatalf("second browser ends at %s, want the portal's login page", final)
	}
	if elapsed > time.Second {
		t.Errorf("the ended session was refused %v after the logout, want within a second", elapsed)
	}
	for _, u := range brUpstreamURIs(e, "/docs/after") {
		t.Errorf("the upstream got %s from the ended session", u)
	}
	// The first browser is still logged in.
	if r := first.Go(http.MethodGet, e.App+"/docs/first-again", nil, nil); r.Status != http.StatusOK || r.URL.Path != "/docs/first-again" {
		t.Fatalf("first browser after: %s", r)
	}
}
