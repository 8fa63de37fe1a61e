package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const brRequireSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		require !request.path.startsWith("/admin") || "admin" in claims.roles
	}
	reverse_proxy {{.UpstreamAddr}}
}`

// TestBrowserRequireDenied — README "Claim expressions", in headless Chromium against real
// Caddy: a user whose session lacks the role an expression requires logs in and is shown an
// "Access denied" page naming the requirement (never her claims), the upstream sees nothing;
// a page the expression allows opens.
func TestBrowserRequireDenied(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: AppClient, Sites: brRequireSites})
	b := brStartBrowser(t, e, chromium)
	const ada = "ada@example.test"
	e.CreateUser(ada)
	portal := e.Issuer

	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
	b.run("open the admin area: denied", 20*time.Second, chromedp.Navigate(e.App+"/admin/users"), brAt(e.App, "/admin/users"))
	page := b.text("body")
	for _, want := range []string{"Access denied", "requires", `"admin" in claims.roles`, "Log in as someone else"} {
		if !strings.Contains(page, want) {
			t.Errorf("denial page lacks %q: %q", want, page)
		}
	}
	if strings.Contains(page, ada) {
		t.Errorf("denial page shows the user's claims: %q", page)
	}
	if uris := brUpstreamURIs(e, "/admin"); len(uris) != 0 {
		t.Fatalf("the upstream got %q for a denied page", uris)
	}
	b.run("a page the expression allows", 15*time.Second, chromedp.Navigate(e.App+"/docs/1"), brAt(e.App, "/docs/1"))
	if uris := brUpstreamURIs(e, "/docs/1"); len(uris) != 1 {
		t.Fatalf("upstream got %q, want /docs/1 once", uris)
	}
}
