package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserMFASetup — issue 12 (the MFA redirect loop; the route's protection is CR-18),
// in headless Chromium with a virtual authenticator, clicking what a user clicks: a
// password-only user opens a route with mfa and lands on the portal's "Set up a second
// factor" page, not in a redirect loop; its "Add a passkey" button registers a passkey and
// reloads the page, which now goes on through the step-up (/login/mfa), and confirming with
// the new passkey opens the route.
func TestBrowserMFASetup(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: brPasskeyGatehouse, Sites: brPasskeySites})
	b := brStartBrowser(t, e, chromium)
	const ada = "ada@example.test"
	e.CreateUser(ada)
	portal := e.Issuer
	key := b.addAuthenticator(webauthn.AuthenticatorTransportUsb)
	b.use("") // nobody touches the authenticator while Ada types her password

	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
	b.run("open the mfa route", 15*time.Second,
		chromedp.Navigate(e.App+"/admin/panel?x=1"), brAt(portal, "/authorize"),
		brWaitJS(`!document.querySelector("[data-passkey-register]").hidden`))
	if got := b.text("main"); !strings.Contains(got, "Set up a second factor") || !strings.Contains(got, "Test app") || !strings.Contains(got, ada) {
		t.Errorf("second-factor page says %q", got)
	}
	if uris := brUpstreamURIs(e, "/admin/"); len(uris) != 0 {
		t.Fatalf("the upstream got %q without a multi-factor login (CR-18)", uris)
	}
	b.takeCalls()

	b.use(key)
	b.run("add a passkey on the second-factor page", 15*time.Second,
		chromedp.SendKeys(`[data-passkey-register] input[name=passkey_name]`, "YubiKey", chromedp.ByQuery),
		chromedp.Click("[data-passkey-register] [data-passkey-button]", chromedp.ByQuery),
		brAt(portal, "/login/mfa"),
		chromedp.WaitVisible("[data-passkey-mfa] [data-passkey-button]", chromedp.ByQuery))
	if n := len(b.credentials(key)); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	b.run("confirm with the new passkey (step-up)", 15*time.Second,
		chromedp.Click("[data-passkey-mfa] [data-passkey-button]", chromedp.ByQuery),
		brAt(e.App, "/admin/panel"))
	if got := b.takeCalls(); !slices.Equal(got, []brCall{{Kind: "create"}, {Kind: "get", Allow: 1}}) {
		t.Errorf("WebAuthn calls %+v, want one create, then one get allowing the new passkey", got)
	}
	if uris := brUpstreamURIs(e, "/admin/"); !slices.Equal(uris, []string{"/admin/panel?x=1 amr=pwd,webauthn,mfa"}) {
		t.Errorf("upstream got %q, want /admin/panel?x=1 once, with amr pwd,webauthn,mfa", uris)
	}
}
