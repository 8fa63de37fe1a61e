package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserConsoleSettings — issue 18's console test: "a real browser (chromedp) as an
// admin: log in with MFA, turn on email codes, add an OIDC provider pointing at the test
// upstream provider, register a client, create a user, assign a role; then, as that user
// in a second browser context, see the new method and the new provider on the login page,
// log in through it, and get the role's permissions in the ID token — all without a
// reload." The administrator works in headless Chromium; the user's browser is the
// harness's cookie-keeping HTTP browser (the test upstream's login and consent are JSON
// interactions a person does not click through), against the same running Caddy.
func TestBrowserConsoleSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-bob", Email: "bob@corp.test", EmailVerified: true, GivenName: "Bob", FamilyName: "Builder"})
	mail := otStartMailDev(t)
	e := Start(t, Config{Gatehouse: fmt.Sprintf(`signup open
		email {
			smtp 127.0.0.1:%d {
				username %s
				password %s
				from "Gatehouse Test <noreply@example.test>"
				tls none
				timeout 5s
			}
		}
		`, mail.SMTPPort, otSMTPUser, otSMTPPass) + AppClient, Sites: AppSite})
	portal := e.Issuer
	const root = "root@example.test"
	e.CreateUser(root, "admins")

	// The user's browser, before: no email code, no Corp SSO.
	ub := NewBrowser(t)
	login := ub.Do(http.MethodGet, portal+"/login", nil)
	if strings.Contains(string(login.Body), "/login/code?channel=email") || soButtons(t, e, login)["Log in with Corp SSO"] != "" {
		t.Fatalf("login page before: %s", login.Body)
	}

	// 1. The administrator: password + authenticator app.
	b := brStartBrowser(t, e, chromium)
	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, root), brAt(portal, "/"),
		chromedp.Click(`form[action$="/account/totp"] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/account/totp"), chromedp.WaitVisible("[data-totp-key]", chromedp.ByQuery))
	app := brTOTPFromPage(t, b)
	b.run("confirm the app", 15*time.Second,
		chromedp.SendKeys(`form[action$="/account/totp/confirm"] input[name=code]`, app.next(), chromedp.ByQuery),
		chromedp.Click(`form[action$="/account/totp/confirm"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("[data-recovery-codes]", chromedp.ByQuery))
	b.run("log in with MFA for the console", 20*time.Second,
		chromedp.Navigate(portal+"/login?return_to="+url.QueryEscape("/admin/settings")),
		chromedp.SendKeys(`input[name=email]`, root, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/login"] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/login/mfa"),
		chromedp.WaitVisible(`form[data-totp-form] input[name=code]`, chromedp.ByQuery),
		chromedp.SendKeys(`form[data-totp-form] input[name=code]`, app.next(), chromedp.ByQuery),
		chromedp.Click(`form[data-totp-form] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/admin/settings"), chromedp.WaitVisible(`form[data-settings]`, chromedp.ByQuery))

	// 2. Turn on email codes.
	b.run("turn on email codes", 15*time.Second,
		chromedp.Click(`input[name="method.email_code"]`, chromedp.ByQuery),
		chromedp.Click(`form[data-settings] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-done]`, chromedp.ByQuery))

	// 3. Add the OIDC provider pointing at the test upstream.
	b.run("add the provider", 15*time.Second, chromedp.Navigate(portal+"/admin/providers"),
		chromedp.SendKeys(`form[data-provider-form] input[name=name]`, "corp", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-provider-form] input[name=label]`, "Corp SSO", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-provider-form] input[name=issuer]`, corp.Issuer, chromedp.ByQuery),
		chromedp.SendKeys(`form[data-provider-form] input[name=client_id]`, fmt.Sprintf("gatehouse-%d-corp", e.PortalPort), chromedp.ByQuery),
		chromedp.SendKeys(`form[data-provider-form] input[name=client_secret]`, fmt.Sprintf("secret-gatehouse-%d-corp", e.PortalPort), chromedp.ByQuery),
		chromedp.Click(`form[data-provider-form] input[name=trust_email_verified]`, chromedp.ByQuery),
		chromedp.Click(`form[data-provider-form] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-provider="corp"]`, chromedp.ByQuery))
	if strings.Contains(b.text("main"), fmt.Sprintf("secret-gatehouse-%d-corp", e.PortalPort)) {
		t.Fatal("the provider's secret is shown")
	}

	// 4. Register a client (its secret shown once).
	b.run("register a client", 15*time.Second, chromedp.Navigate(portal+"/admin/clients"),
		chromedp.SendKeys(`form[data-create-client] input[name=name]`, "Wiki", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-create-client] textarea[name=redirect_uris]`, e.RP+"/wiki-cb", chromedp.ByQuery),
		chromedp.Click(`form[data-create-client] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-secret]`, chromedp.ByQuery))
	clientID, clientSecret := b.attr(`[data-created-client]`, "data-created-client"), b.text(`[data-secret]`)

	// 5. A role, a user (whose address the provider will prove), the role given.
	b.run("add a role", 15*time.Second, chromedp.Navigate(portal+"/admin/roles"),
		chromedp.SendKeys(`form[data-role-form] input[name=name]`, "editor", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-role-form] input[name=value]`, "Editor", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-role-form] input[name=permissions]`, "docs:read, docs:write", chromedp.ByQuery),
		chromedp.Click(`form[data-role-form] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-role="editor"]`, chromedp.ByQuery))
	b.run("create the user", 15*time.Second, chromedp.Navigate(portal+"/admin/users"),
		chromedp.SendKeys(`form[data-create-user] input[name=email]`, "bob@corp.test", chromedp.ByQuery),
		chromedp.Click(`form[data-create-user] input[name=email_verified]`, chromedp.ByQuery),
		chromedp.Click(`form[data-create-user] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[data-edit-user]`, chromedp.ByQuery))
	var userPage string
	b.run("read the user's page address", 5*time.Second, chromedp.Location(&userPage))
	bobID := userPage[strings.LastIndex(userPage, "/")+1:]
	b.run("give the role", 15*time.Second,
		chromedp.SendKeys(`form[data-edit-user] input[name=roles]`, "editor", chromedp.ByQuery),
		chromedp.Click(`form[data-edit-user] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-done="edit"]`, chromedp.ByQuery))

	// 6. The user, without a reload: the new method and provider, a login through it, the
	// role's permissions in the ID token of the client just registered.
	login = ub.Do(http.MethodGet, portal+"/login", nil)
	if !strings.Contains(string(login.Body), "/login/code?channel=email") {
		t.Error("the login page does not offer email codes")
	}
	if soButtons(t, e, login)["Log in with Corp SSO"] == "" {
		t.Fatalf("the login page has no Corp SSO button: %v", soButtons(t, e, login))
	}
	soLoggedIn(t, e, ub, "login through the stored provider", soLogin(t, e, ub, "corp", "so-bob"), bobID)
	params, verifier := AuthParams(clientID, e.RP+"/wiki-cb", "openid")
	params.Set("claims", `{"id_token":{"roles":null,"role_values":null,"permissions":null}}`)
	q := e.Authorize(ub, params)
	r := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {e.RP + "/wiki-cb"},
		"code_verifier": {verifier}}, clientID, clientSecret)
	if r.Status != http.StatusOK {
		t.Fatalf("token: %s", r)
	}
	claims := JWTClaims(t, r.JSON(t)["id_token"].(string))
	strs := func(name string) []string {
		var out []string
		vs, _ := claims[name].([]any)
		for _, v := range vs {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	if claims["email"] != nil && claims["email"] != "bob@corp.test" {
		t.Errorf("ID token of %v, want bob@corp.test", claims["email"])
	}
	if !slices.Equal(strs("roles"), []string{"editor"}) || !slices.Equal(strs("permissions"), []string{"docs:read", "docs:write"}) {
		t.Fatalf("ID token roles %v, permissions %v", claims["roles"], claims["permissions"])
	}
}
