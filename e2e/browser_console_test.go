package e2e

import (
	"encoding/base32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserConsole — issue 18 ("The console"), in headless Chromium against real Caddy,
// clicking what an administrator clicks: root (group admins) logs in with a password only
// and can read the console, but its first change (registering a client) is sent through a
// step-up login and changes nothing; root sets up an authenticator app, logs in with
// password + code, registers a client (the secret shown once, never again), creates a user
// and assigns a role (and, with a German Accept-Language, sees the console and a refused
// javascript: redirect URI in German); a form whose CSRF token was removed is refused; then Ada, a user
// outside admins, in a second browser, is refused the console (403).
func TestBrowserConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: brPasskeyGatehouse, Sites: brPasskeySites})
	b := brStartBrowser(t, e, chromium)
	const root, ada = "root@example.test", "ada@example.test"
	e.CreateUser(root, "admins")
	e.CreateUser(ada, "staff")
	portal := e.Issuer

	// 1. A password-only login reads the console; a change needs a fresh multi-factor login.
	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, root), brAt(portal, "/"))
	b.run("open the console", 15*time.Second, chromedp.Navigate(portal+"/admin/"), brAt(portal, "/admin/"),
		chromedp.WaitVisible(`[data-count="users"]`, chromedp.ByQuery))
	if got := b.text(`[data-count="users"]`); got != "2" {
		t.Errorf("dashboard: %q users, want 2", got)
	}
	registerClient := chromedp.Tasks{
		chromedp.Navigate(portal + "/admin/clients"), brAt(portal, "/admin/clients"),
		chromedp.SendKeys(`form[data-create-client] input[name=name]`, "Wiki", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-create-client] textarea[name=redirect_uris]`, "https://wiki.example.test/cb", chromedp.ByQuery),
		chromedp.Click(`form[data-create-client] button[type=submit]`, chromedp.ByQuery),
	}
	b.run("a change with a password-only login goes to the step-up login", 15*time.Second, registerClient,
		brAt(portal, "/login"), chromedp.WaitVisible(`input[name=password]`, chromedp.ByQuery))
	var loc string
	b.run("read the step-up URL", 5*time.Second, chromedp.Location(&loc))
	if u, err := url.Parse(loc); err != nil || u.Query().Get("return_to") != "/admin/clients" {
		t.Errorf("step-up login at %q, want return_to=/admin/clients", loc)
	}
	if r := e.Admin(http.MethodGet, "/gatehouse/clients", nil); strings.Contains(string(r.Body), "Wiki") {
		t.Fatalf("the refused change registered the client: %s", r)
	}

	// 2. An authenticator app, then a multi-factor login.
	b.run("account page", 10*time.Second, chromedp.Navigate(portal+"/"), brAt(portal, "/"),
		chromedp.Click(`form[action$="/account/totp"] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/account/totp"), chromedp.WaitVisible("[data-totp-key]", chromedp.ByQuery))
	app := brTOTPFromPage(t, b)
	b.run("confirm the app", 15*time.Second,
		chromedp.SendKeys(`form[action$="/account/totp/confirm"] input[name=code]`, app.next(), chromedp.ByQuery),
		chromedp.Click(`form[action$="/account/totp/confirm"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("[data-recovery-codes]", chromedp.ByQuery))
	b.run("step-up login: password, then the code", 20*time.Second,
		chromedp.Navigate(portal+"/login?return_to="+url.QueryEscape("/admin/clients")),
		chromedp.SendKeys(`input[name=email]`, root, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/login"] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/login/mfa"),
		chromedp.WaitVisible(`form[data-totp-form] input[name=code]`, chromedp.ByQuery),
		chromedp.SendKeys(`form[data-totp-form] input[name=code]`, app.next(), chromedp.ByQuery),
		chromedp.Click(`form[data-totp-form] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/admin/clients"))

	// 3. Register a client: the secret once.
	b.run("register a client", 15*time.Second, registerClient, chromedp.WaitVisible(`[data-secret]`, chromedp.ByQuery))
	secret := b.text(`[data-secret]`)
	clientID := b.attr(`[data-created-client]`, "data-created-client")
	if len(secret) < 20 || clientID == "" {
		t.Fatalf("client %q, secret %q", clientID, secret)
	}
	b.run("the client's page", 10*time.Second, chromedp.Navigate(portal+"/admin/clients/"+clientID),
		chromedp.WaitVisible(`form[data-edit-client]`, chromedp.ByQuery))
	if strings.Contains(b.text("main"), secret) {
		t.Error("the secret is shown again")
	}

	// 3b. In the browser's language (German): labels, login methods by their names, and the
	// API's refusal of a javascript: redirect URI as a German message naming the field's label.
	b.run("German", 5*time.Second, network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "de;q=1, en;q=0.1"}))
	b.run("a javascript: redirect URI, in German", 15*time.Second,
		chromedp.Navigate(portal+"/admin/clients"), brAt(portal, "/admin/clients"),
		chromedp.SendKeys(`form[data-create-client] input[name=name]`, "Evil", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-create-client] textarea[name=redirect_uris]`, "javascript:alert(1)", chromedp.ByQuery),
		chromedp.Click(`form[data-create-client] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-error]:not([hidden])`, chromedp.ByQuery))
	if got, want := b.text("[data-error]"), "Weiterleitungs-URIs, Zeile 1: Diese Art von Adresse ist nicht erlaubt"; !strings.Contains(got, want) {
		t.Errorf("German console error %q, want %q", got, want)
	}
	if got := b.text("main h2#new-client"); got != "Client registrieren" {
		t.Errorf("German heading %q, want Client registrieren", got)
	}
	b.run("login preferences, in German", 15*time.Second, chromedp.Navigate(portal+"/admin/settings"),
		chromedp.WaitVisible(`tr[data-method="email_code"]`, chromedp.ByQuery))
	if got := b.text(`tr[data-method="email_code"] th`); got != "E-Mail-Code" {
		t.Errorf("the email_code method in German: %q, want E-Mail-Code", got)
	}
	b.run("English again", 5*time.Second, network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "en"}))

	// 4. Create a user and give it a role.
	b.run("create a user", 15*time.Second, chromedp.Navigate(portal+"/admin/users"),
		chromedp.SendKeys(`form[data-create-user] input[name=email]`, "bob@example.test", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-create-user] input[name=fname]`, "Bob", chromedp.ByQuery),
		chromedp.Click(`form[data-create-user] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[data-edit-user]`, chromedp.ByQuery))
	b.run("assign a role", 15*time.Second,
		chromedp.SendKeys(`form[data-edit-user] input[name=roles]`, "editor", chromedp.ByQuery),
		chromedp.Click(`form[data-edit-user] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-done="edit"]`, chromedp.ByQuery))
	if got := b.text("[data-roles]"); got != "editor" {
		t.Errorf("roles on the page: %q, want editor", got)
	}

	// 5. A form without its CSRF token changes nothing.
	b.run("a form without its CSRF token", 15*time.Second,
		chromedp.Evaluate(`document.querySelector('form[data-edit-user] input[name=csrf_token]').remove()`, nil),
		chromedp.SetValue(`form[data-edit-user] input[name=roles]`, "owner", chromedp.ByQuery),
		chromedp.Click(`form[data-edit-user] button[type=submit]`, chromedp.ByQuery),
		brWaitJS(`document.querySelector("main").textContent.includes("Your form expired")`))
	b.run("the role is unchanged", 10*time.Second, chromedp.Navigate(portal+"/admin/users?email=bob%40example.test"),
		brWaitJS(`document.querySelector("[data-users]").textContent.includes("editor")`))

	// 6. A user outside admins is refused.
	b2 := brStartBrowser(t, e, chromium)
	b2.run("Ada logs in", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
	b2.run("Ada opens the console", 15*time.Second, chromedp.Navigate(portal+"/admin/users"),
		brWaitJS(`document.querySelector("main").textContent.includes("Only administrators")`))
	if strings.Contains(b2.text("main"), "bob@example.test") {
		t.Error("a non-administrator sees the users")
	}
	login := e.APILogin(ada, Password)
	req := NewRequest(t, http.MethodGet, portal+"/admin/", nil)
	for _, c := range (&http.Response{Header: login.Header}).Cookies() {
		req.AddCookie(c)
	}
	if r := Do(t, API, req); r.Status != http.StatusForbidden {
		t.Errorf("non-admin GET /admin/: %d, want 403", r.Status)
	}
}

// brTOTPFromPage reads the authenticator key the setup page shows.
func brTOTPFromPage(t *testing.T, b *brBrowser) *brTOTP {
	t.Helper()
	key := strings.ReplaceAll(b.text("[data-totp-key]"), " ", "")
	raw, err := brBase32(key)
	if err != nil || len(raw) != 20 {
		t.Fatalf("key on the page %q: %v", key, err)
	}
	return &brTOTP{t: t, raw: raw}
}

func brBase32(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}
