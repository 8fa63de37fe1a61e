package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// brConsentGatehouse is a third-party client (consent required) used both by a protected
// site and, through a second redirect URI on the recording upstream, by the test directly.
const brConsentGatehouse = `signup open
		client partner {
			name "Partner Reports"
			redirect_uri {{.App}}/.gatehouse/callback http://{{.UpstreamAddr}}/partner-cb
			scopes openid profile email offline_access
			consent required
		}`

const brConsentSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client partner
	}
	reverse_proxy {{.UpstreamAddr}}
}`

// TestBrowserConsent — issue 14 (consent), in headless Chromium against real Caddy, clicking
// what a user clicks: a protected site whose client is a third party shows the consent page
// (the client's name, a plain-language line per scope) after the login; Deny ends the login
// with access_denied (OIDC Core §3.1.2.6) and the upstream sees nothing; Allow opens the
// site. The decision is remembered: prompt=none for a subset of the scopes gets a code,
// prompt=consent shows the page again, and prompt=none for a scope never consented to
// answers consent_required (OIDC Core §3.1.2.6). Disconnect under "Connected apps" on the
// account page takes the consent back: the site asks again.
func TestBrowserConsent(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: brConsentGatehouse, Sites: brConsentSites})
	b := brStartBrowser(t, e, chromium)
	const ada = "ada@example.test"
	e.CreateUser(ada)
	portal := e.Issuer
	consentPage := brWaitJS(`!!document.querySelector("[data-consent-form]")`)

	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
	b.run("open the site: the consent page", 15*time.Second,
		chromedp.Navigate(e.App+"/report?x=1"), brAt(portal, "/authorize"), consentPage)
	page := b.text("main")
	for _, want := range []string{"Partner Reports", ada, "Your email address", "Your name, username", "Know that it is you"} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q: %q", want, page)
		}
	}
	if strings.Contains(page, "while you are away") {
		t.Errorf("consent page lists offline_access, which the site did not request: %q", page)
	}
	b.run("deny", 15*time.Second, chromedp.Click("[data-deny]", chromedp.ByQuery), brAt(e.App, "/.gatehouse/callback"))
	if got := b.text("body"); !strings.Contains(got, "access_denied") {
		t.Errorf("after Deny the site says %q, want the login not completed (access_denied)", got)
	}
	if uris := brUpstreamURIs(e, "/report"); len(uris) != 0 {
		t.Fatalf("the upstream got %q after Deny", uris)
	}

	b.run("open the site again: asked again, allow", 20*time.Second,
		chromedp.Navigate(e.App+"/report?x=2"), brAt(portal, "/authorize"), consentPage,
		chromedp.Click("[data-allow]", chromedp.ByQuery), brAt(e.App, "/report"))
	if uris := brUpstreamURIs(e, "/report"); len(uris) != 1 || !strings.HasPrefix(uris[0], "/report?x=2") {
		t.Fatalf("upstream got %q, want /report?x=2 once", uris)
	}

	cb := "http://" + e.UpstreamAddr + "/partner-cb"
	authorize := func(scope, prompt string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {"partner"}, "redirect_uri": {cb}, "scope": {scope},
			"state": {"s1"}, "code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}}
		if prompt != "" {
			q.Set("prompt", prompt)
		}
		return portal + "/authorize?" + q.Encode()
	}
	atCallback := brWaitJS(`location.pathname === "/partner-cb" && document.readyState === "complete"`)
	callback := func() url.Values {
		t.Helper()
		var search string
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(`location.search`, &search)); err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(strings.TrimPrefix(search, "?"))
		return q
	}
	b.run("remembered: prompt=none for a subset", 15*time.Second, chromedp.Navigate(authorize("openid email", "none")), atCallback)
	if q := callback(); q.Get("code") == "" || q.Get("state") != "s1" {
		t.Errorf("prompt=none after consent: %v, want a code", q)
	}
	b.run("prompt=consent shows the page again; allow", 15*time.Second,
		chromedp.Navigate(authorize("openid email", "consent")), brAt(portal, "/authorize"), consentPage,
		chromedp.Click("[data-allow]", chromedp.ByQuery), atCallback)
	if q := callback(); q.Get("code") == "" {
		t.Errorf("allow after prompt=consent: %v, want a code", q)
	}
	b.run("prompt=none for a scope never consented to", 15*time.Second,
		chromedp.Navigate(authorize("openid offline_access", "none")), atCallback)
	if q := callback(); q.Get("error") != "consent_required" || q.Get("code") != "" {
		t.Errorf("prompt=none for offline_access: %v, want error=consent_required", q)
	}

	// Connected apps: the account page lists the app; Disconnect takes the consent back and
	// ends the site's tokens, so the next visit asks again.
	b.run("the account page lists the app; disconnect it", 15*time.Second,
		chromedp.Navigate(portal+"/"), brAt(portal, "/"),
		chromedp.WaitVisible(`[data-app="partner"] [data-disconnect]`, chromedp.ByQuery),
		chromedp.Click(`[data-app="partner"] [data-disconnect]`, chromedp.ByQuery),
		brWaitJS(`location.pathname === "/" && document.readyState === "complete" && !document.querySelector('[data-app="partner"]')`))
	if got := b.text("main"); !strings.Contains(got, "No app has access") {
		t.Errorf("after Disconnect the account page says %q", got)
	}
	// Issue 16: the browser's own session is listed in coarse words and marked.
	if got := b.text("[data-sessions] [data-current]"); !strings.Contains(got, "Chrome on Linux") || !strings.Contains(got, "this session") {
		t.Errorf("this session is listed as %q, want Chrome on Linux, this session", got)
	}
	b.run("the site asks for consent again", 15*time.Second,
		chromedp.Navigate(e.App+"/report?x=3"), brAt(portal, "/authorize"), consentPage)
}
