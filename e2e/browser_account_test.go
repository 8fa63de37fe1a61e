package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAccountProfileAndDelete — issue 16 in headless Chromium against real Caddy,
// doing what a user does on the account page: change the name in the Profile form and see it
// on the page; type DELETE under "Delete my account" and land on the page that says the
// account is gone; the protected site then asks for a login, and logging in again fails.
func TestBrowserAccountProfileAndDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: AppClient + `
		account {
			editable_fields fname lname
			allow_delete
		}`, Sites: AppSite})
	b := brStartBrowser(t, e, chromium)
	const ada = "ada@example.test"
	e.CreateUser(ada)
	portal := e.Issuer
	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
	const form = `form[action$="/account/profile"]`
	b.run("change the name", 15*time.Second,
		chromedp.Clear(form+` input[name=fname]`, chromedp.ByQuery),
		chromedp.SendKeys(form+` input[name=fname]`, "Grace", chromedp.ByQuery),
		chromedp.Clear(form+` input[name=lname]`, chromedp.ByQuery),
		chromedp.SendKeys(form+` input[name=lname]`, "Hopper", chromedp.ByQuery),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/"), brWaitJS(`document.querySelector("main").textContent.includes("Grace Hopper")`))
	if page := b.text("main"); strings.Contains(page, "Ada Lovelace") {
		t.Errorf("the page still shows the old name: %q", page)
	}
	b.run("delete the account", 15*time.Second,
		chromedp.SendKeys(`form[action$="/account/delete"] input[name=confirm]`, "DELETE", chromedp.ByQuery),
		chromedp.Click(`form[action$="/account/delete"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-account-deleted]`, chromedp.ByQuery))
	if got := b.text("main"); !strings.Contains(got, "Your account has been deleted") {
		t.Errorf("after deletion the page says %q", got)
	}
	b.run("the protected site asks for a login", 15*time.Second, chromedp.Navigate(e.App+"/docs"), brAt(portal, "/login"))
	b.run("logging in again fails", 15*time.Second, brPasswordLogin(portal, ada), brErrorShown("email or password is incorrect"))
}
