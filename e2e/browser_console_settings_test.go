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

// TestBrowserConsoleSettings — issue 18's console test: "A real browser (the project's
// existing chromedp harness) as an admin: log in with MFA, turn on email codes, add an OIDC
// provider pointing at the test upstream provider, register a client, create a user, assign
// a role; then, as that user in a second browser context, see the new method and the new
// provider on the login page, log in through it, and get the role's permissions in the ID
// token — all without a reload." Both people use headless Chromium: the administrator its
// first tab, the user a tab in a second browser context (cookies of its own), against the
// same running Caddy. The user's tab looks at the login page before the administrator's
// changes and again after them, logs in through the upstream provider's HTML pages, and
// sends the authorization request of the client the administrator registered; the test
// redeems the code as the client's back channel does. A third browser context then logs in
// with the email code the administrator turned on.
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
	running := Provider(t) // a reload of Caddy's configuration would provision another

	// Two people in one Chromium: the administrator (b) and the user (u), each with cookies
	// of its own. The user's login page, before: no email code, no Corp SSO.
	b := brStartBrowser(t, e, chromium)
	u := b.newContext()
	u.run("the user's login page, before", 15*time.Second, chromedp.Navigate(portal+"/login"), brAt(portal, "/login"),
		chromedp.WaitVisible(`input[name=password]`, chromedp.ByQuery))
	if o := brLoginOffers(u); o.EmailCode || slices.Contains(o.Social, "Log in with Corp SSO") {
		t.Fatalf("the login page offers, before the administrator's changes: %+v", o)
	}

	// 1. The administrator: password + authenticator app.
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

	// 4. Register a client (its secret shown once), whose redirect URI is a page the user's
	// browser can land on (the recording upstream).
	wikiCB := "http://" + e.UpstreamAddr + "/wiki-cb"
	b.run("register a client", 15*time.Second, chromedp.Navigate(portal+"/admin/clients"),
		chromedp.SendKeys(`form[data-create-client] input[name=name]`, "Wiki", chromedp.ByQuery),
		chromedp.SendKeys(`form[data-create-client] textarea[name=redirect_uris]`, wikiCB, chromedp.ByQuery),
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

	// 6. The user, in the same tab as before and without a reload: the new method and
	// provider, a login through it, the role's permissions in the ID token of the client just
	// registered.
	u.run("the user's login page, after", 15*time.Second, chromedp.Navigate(portal+"/login"), brAt(portal, "/login"),
		chromedp.WaitVisible(`input[name=password]`, chromedp.ByQuery))
	if Provider(t) != running {
		t.Fatal("Caddy's configuration was reloaded")
	}
	o := brLoginOffers(u)
	if !o.EmailCode {
		t.Errorf("the login page does not offer email codes: %+v", o)
	}
	if !slices.Contains(o.Social, "Log in with Corp SSO") {
		t.Fatalf("the login page has no Corp SSO button: %+v", o)
	}
	u.run("log in through Corp SSO", 40*time.Second,
		chromedp.Click(`//a[normalize-space()="Log in with Corp SSO"]`, chromedp.BySearch),
		brWaitJS(fmt.Sprintf(`location.origin === %q && document.readyState === "complete" && document.querySelector("form[data-upstream-login]")`, corp.Issuer)),
		chromedp.SendKeys(`form[data-upstream-login] input[name=login]`, "so-bob", chromedp.ByQuery),
		chromedp.Click(`form[data-upstream-login] button[type=submit]`, chromedp.ByQuery),
		brWaitJS(fmt.Sprintf(`location.origin === %q && document.readyState === "complete" && document.querySelector("form[data-upstream-confirm]")`, corp.Issuer)),
		chromedp.Click(`form[data-upstream-confirm] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/"))
	if s := u.session(); !s.Authenticated || s.UserID != bobID {
		t.Fatalf("the user's browser after the Corp SSO login: %+v, want a session as %s", s, bobID)
	}
	if s := b.session(); s.UserID == bobID {
		t.Fatalf("the administrator's browser shares the user's session: %+v", s)
	}
	params, verifier := AuthParams(clientID, wikiCB, "openid")
	params.Set("claims", `{"id_token":{"roles":null,"role_values":null,"permissions":null}}`)
	var back string
	u.run("authorize the Wiki", 20*time.Second, chromedp.Navigate(portal+"/authorize?"+params.Encode()),
		brWaitJS(fmt.Sprintf(`location.href.startsWith(%q)`, wikiCB+"?")), chromedp.Location(&back))
	cb, err := url.Parse(back)
	if err != nil {
		t.Fatalf("authorization response %q: %v", back, err)
	}
	q := cb.Query()
	if q.Get("code") == "" || q.Get("state") != params.Get("state") {
		t.Fatalf("authorization response %s, want a code and state %q", back, params.Get("state"))
	}
	r := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {wikiCB},
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
	if claims["sub"] != bobID || claims["aud"] != clientID || claims["nonce"] != params.Get("nonce") {
		t.Errorf("ID token sub %v aud %v nonce %v, want %s, %s, %s", claims["sub"], claims["aud"], claims["nonce"], bobID, clientID, params.Get("nonce"))
	}
	if claims["email"] != nil && claims["email"] != "bob@corp.test" {
		t.Errorf("ID token of %v, want bob@corp.test", claims["email"])
	}
	if !slices.Equal(strs("roles"), []string{"editor"}) || !slices.Equal(strs("role_values"), []string{"Editor"}) ||
		!slices.Equal(strs("permissions"), []string{"docs:read", "docs:write"}) {
		t.Fatalf("ID token roles %v, role_values %v, permissions %v", claims["roles"], claims["role_values"], claims["permissions"])
	}

	// 7. The method turned on works too: the same user, in a third browser context, logs in
	// with a code sent by email.
	w := b.newContext()
	w.run("ask for an email code", 20*time.Second, chromedp.Navigate(portal+"/login"), brAt(portal, "/login"),
		chromedp.Click(`a[href*="/login/code?channel=email"]`, chromedp.ByQuery),
		brAt(portal, "/login/code"),
		chromedp.SendKeys(`form input[name=email]`, "bob@corp.test", chromedp.ByQuery),
		chromedp.Click(`//input[@name="email"]/ancestor::form//button[@type="submit"]`, chromedp.BySearch),
		chromedp.WaitVisible(`form input[name=code]`, chromedp.ByQuery))
	code := mail.next("bob@corp.test", otSubjCode).code(t)
	w.run("enter the email code", 20*time.Second,
		chromedp.SendKeys(`form input[name=code]`, code, chromedp.ByQuery),
		chromedp.Click(`//input[@name="code"]/ancestor::form//button[@type="submit"]`, chromedp.BySearch),
		brAt(portal, "/"))
	if s := w.session(); !s.Authenticated || s.UserID != bobID {
		t.Fatalf("the third browser after the email code: %+v, want a session as %s", s, bobID)
	}
	if Provider(t) != running {
		t.Fatal("Caddy's configuration was reloaded")
	}
}

// brLoginOffer is what a login page shown in the browser offers (visible controls only).
type brLoginOffer struct {
	EmailCode bool     `json:"emailCode"` // the "Email me a code" link
	Social    []string `json:"social"`    // the labels of the "Log in with …" buttons
}

// brLoginOffers reads the login page shown in b.
func brLoginOffers(b *brBrowser) brLoginOffer {
	b.t.Helper()
	var o brLoginOffer
	b.run("read the login page", 5*time.Second, chromedp.Evaluate(`(() => {
		const shown = (sel) => [...document.querySelectorAll(sel)].filter((a) => a.offsetParent !== null);
		return {
			emailCode: shown('a[href*="/login/code?channel=email"]').length > 0,
			social: shown('a[href*="/login/social/"]').map((a) => a.textContent.trim()),
		};
	})()`, &o))
	return o
}
