package e2e

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// brPasskeySites protects App with the app client; /admin/* also needs a multi-factor login
// (step-up), and the upstream sees how the user logged in.
const brPasskeySites = `
{{.App}} {
	bind 127.0.0.1
	@admin path /admin/*
	gatehouse_protect @admin {
		client app
		mfa
		header X-User-Amr {gatehouse.auth.amr}
	}
	gatehouse_protect {
		client app
		header X-User-Amr {gatehouse.auth.amr}
	}
	reverse_proxy {{.UpstreamAddr}}
}`

const brPasskeyGatehouse = `signup open
		client app {
			name "Test app"
			redirect_uri {{.App}}/.gatehouse/callback
			scopes openid profile email
		}`

// TestBrowserPasskeys drives the hosted pages in headless Chromium with the DevTools virtual
// WebAuthn authenticators, clicking what a user clicks: passkey sign-up, logout, usernameless
// login (autofill and button), a second passkey from the account page and its rename, a
// password user's second factor on /login/mfa (no session before the passkey, CR-18), step-up
// at a protected route with mfa, deleting passkeys (never the last way in), and refused
// logins when the authenticator does not verify its user. Every wait is for a page state,
// bounded per step; a failed step logs the page's HTML, a screenshot path and the console.
func TestBrowserPasskeys(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: brPasskeyGatehouse, Sites: brPasskeySites})
	b := brStartBrowser(t, e, chromium)
	const ada, grace = "ada@example.test", "grace@example.test"
	portal := e.Issuer
	// The account page, with app.js done (it un-hides the "Add a passkey" control).
	account := chromedp.Tasks{brAt(portal, "/"), brWaitJS(`!document.querySelector("[data-passkey-register]").hidden`)}
	logout := func(step string) {
		t.Helper()
		b.run(step, 10*time.Second,
			chromedp.Navigate(portal+"/"), account,
			chromedp.Click(`form[action$="/logout"] button[type=submit]`, chromedp.ByQuery),
			brWaitJS(`document.querySelector("h2").textContent === "You are logged out"`))
		if s := b.session(); s.Authenticated || s.Status != 401 {
			t.Fatalf("%s: still logged in: %+v", step, s)
		}
	}
	checkCalls := func(step string, want ...brCall) {
		t.Helper()
		if got := b.takeCalls(); !slices.Equal(got, want) {
			t.Errorf("%s: WebAuthn calls of the pages %+v, want %+v", step, got, want)
		}
	}
	create := brCall{Kind: "create"}
	modal := brCall{Kind: "get"}
	conditional := brCall{Kind: "get", Mediation: "conditional"}

	// The laptop: a platform authenticator with resident keys and user verification.
	laptop := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)

	// 1. Sign up with a passkey: no password, logged in at once.
	b.run("sign up with a passkey", 15*time.Second,
		chromedp.Navigate(portal+"/signup"),
		chromedp.WaitVisible("[data-passkey-signup] [data-passkey-button]", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, ada, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=fname]`, "Ada", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=lname]`, "Lovelace", chromedp.ByQuery),
		chromedp.Click("[data-passkey-signup] [data-passkey-button]", chromedp.ByQuery),
		brPastEmailCheck(portal), account, brWaitJS(`document.querySelectorAll("ul.passkeys li").length === 1`))
	checkCalls("sign-up", create)
	// Issue 14 item 8, as the user sees it: the passkey-only account is offered to "Add a
	// password"; "Add a passkey" and "Log out" are apart — the "Log out" section's heading
	// between them and at least 24 px of space.
	b.run("account page of a passkey-only account", 10*time.Second, brWaitJS(`(() => {
		const add = document.querySelector("[data-passkey-button]").getBoundingClientRect();
		const out = document.querySelector('form[action$="/logout"] button').getBoundingClientRect();
		const head = document.querySelector("#sec-logout").getBoundingClientRect();
		const pw = document.querySelector('a[href$="/account/password"]');
		return add.height > 0 && head.top >= add.bottom && out.top - add.bottom >= 24 && pw.textContent === "Add a password";
	})()`))
	creds := b.credentials(laptop)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || creds[0].UserHandle == "" {
		t.Fatalf("after sign-up the authenticator holds %+v, want one resident credential for localhost", creds)
	}
	adaID := brPasskeyID(t, creds[0])
	s := b.session()
	if !s.Authenticated || s.Email != ada || !slices.Equal(s.AMR, []string{"webauthn"}) {
		t.Fatalf("session after passkey sign-up: %+v", s)
	}
	if got := b.text("dl"); !strings.Contains(got, ada) || !strings.Contains(got, "Ada Lovelace") {
		t.Errorf("account page details %q", got)
	}
	rows := b.passkeyRows()
	today := []string{time.Now().Format("2006-01-02"), time.Now().UTC().Format("2006-01-02")}
	if len(rows) != 1 || !strings.HasPrefix(rows[0], "Passkey | this device · added ") ||
		!(strings.Contains(rows[0], "added "+today[0]) || strings.Contains(rows[0], "added "+today[1])) {
		t.Errorf("passkey list %q, want one row: name Passkey, type this device, added today", rows)
	}
	if got := b.attr(`ul.passkeys li`, "data-passkey-id"); got != adaID {
		t.Errorf("the listed passkey is %q, the authenticator's credential %q", got, adaID)
	}

	// 2. Log out through the account page's form.
	logout("log out")

	// 3. Usernameless login. First the autofill (conditional mediation): Chromium's virtual
	// authenticator answers the conditional request that /login starts as soon as it loads,
	// as a user picking the passkey in the email field's suggestions would.
	b.run("log in through the passkey autofill", 10*time.Second,
		chromedp.Navigate(portal+"/login"), account)
	checkCalls("autofill login", conditional)
	if s := b.session(); !s.Authenticated || s.Email != ada || !slices.Equal(s.AMR, []string{"webauthn"}) {
		t.Fatalf("session after the autofill login: %+v", s)
	}
	logout("log out after the autofill login")
	// Then the button, with no email typed, in a browser without passkey autofill.
	b.autofill(false)
	b.run("log in with the passkey button", 10*time.Second,
		chromedp.Navigate(portal+"/login"),
		chromedp.Click("[data-passkey-login] [data-passkey-button]", chromedp.ByQuery),
		account)
	checkCalls("button login", modal)
	if s := b.session(); !s.Authenticated || s.Email != ada || !slices.Equal(s.AMR, []string{"webauthn"}) {
		t.Fatalf("session after the passkey button: %+v", s)
	}

	// 4. A second passkey from the account page, on a second authenticator (a USB security
	// key): the laptop cannot hold a second one, since the server lists Ada's credential in
	// excludeCredentials (and a resident key for the same account would replace the first).
	// Only the key is touched, so Chromium does not race the two.
	key := b.addAuthenticator(webauthn.AuthenticatorTransportUsb)
	b.use(key)
	b.run("add a passkey from the account page", 15*time.Second,
		chromedp.SendKeys(`[data-passkey-register] input[name=passkey_name]`, "YubiKey", chromedp.ByQuery),
		chromedp.Click("[data-passkey-register] [data-passkey-button]", chromedp.ByQuery),
		account, brWaitJS(`document.querySelectorAll("ul.passkeys li").length === 2`))
	checkCalls("add a passkey", create)
	if n := len(b.credentials(laptop)); n != 1 {
		t.Errorf("the laptop holds %d credentials after adding the security key, want 1", n)
	}
	pc := b.credentials(key)
	if len(pc) != 1 || !pc[0].IsResidentCredential {
		t.Fatalf("the key holds %+v, want one resident credential", pc)
	}
	keyID := brPasskeyID(t, pc[0])
	if rows := b.passkeyRows(); len(rows) != 2 || !strings.HasPrefix(rows[0], "Passkey | ") || !strings.HasPrefix(rows[1], "YubiKey | security key") {
		t.Errorf("passkey list after adding %q, want Passkey and YubiKey", rows)
	}
	// Rename the first through its form (a plain form post, no JavaScript involved).
	laptopRow := `li[data-passkey-id="` + adaID + `"]`
	b.run("rename a passkey", 10*time.Second,
		chromedp.SetValue(laptopRow+` input[name=name]`, "Laptop", chromedp.ByQuery),
		chromedp.Click(laptopRow+` button[type=submit].secondary`, chromedp.ByQuery),
		brWaitJS(`document.querySelector('`+laptopRow+` strong').textContent === "Laptop"`),
		account)
	if rows := b.passkeyRows(); len(rows) != 2 || !strings.HasPrefix(rows[0], "Laptop | ") || !strings.HasPrefix(rows[1], "YubiKey | ") {
		t.Errorf("passkey list after renaming %q, want Laptop and YubiKey", rows)
	}
	logout("log out Ada")

	// 5a. Grace signs up with a password, logs in with it (no passkey yet: no second step)
	// and adds a passkey (her own security key).
	graceKey := b.addAuthenticator(webauthn.AuthenticatorTransportUsb)
	b.use("") // nobody touches an authenticator while Grace types her password
	b.run("sign up with a password", 15*time.Second,
		chromedp.Navigate(portal+"/signup"),
		chromedp.WaitVisible(`input[name=password]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, grace, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=fname]`, "Grace", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/signup"] > button[type=submit]`, chromedp.ByQuery),
		brPastEmailCheck(portal), account)
	logout("log out after the password sign-up")
	b.run("log in with a password, no passkey", 15*time.Second, brPasswordLogin(portal, grace), account)
	if s := b.session(); !s.Authenticated || s.Email != grace || !slices.Equal(s.AMR, []string{"pwd"}) {
		t.Fatalf("session after the password login: %+v", s)
	}
	b.use(graceKey)
	b.run("add Grace's passkey", 15*time.Second,
		chromedp.Click("[data-passkey-register] [data-passkey-button]", chromedp.ByQuery),
		account, brWaitJS(`document.querySelectorAll("ul.passkeys li").length === 1`))
	if n := len(b.credentials(graceKey)); n != 1 {
		t.Fatalf("Grace's authenticator holds %d credentials, want 1", n)
	}
	if s := b.session(); !slices.Equal(s.AMR, []string{"pwd"}) {
		t.Fatalf("adding a passkey changed the session's amr: %+v", s)
	}
	b.takeCalls()

	// 6. Step-up, with the password session: it reaches the app, but /admin needs a
	// multi-factor login; the browser goes through the passkey step, then to the upstream.
	b.run("open the protected app", 15*time.Second, chromedp.Navigate(e.App+"/docs"), brAt(e.App, "/docs"))
	if uris := brUpstreamURIs(e, "/docs"); !slices.Equal(uris, []string{"/docs amr=pwd"}) {
		t.Errorf("upstream got %q, want /docs once, with amr pwd", uris)
	}
	b.run("open the mfa route", 15*time.Second,
		chromedp.Navigate(e.App+"/admin/panel?x=1"), brAt(portal, "/login/mfa"),
		chromedp.WaitVisible("[data-passkey-mfa] [data-passkey-button]", chromedp.ByQuery))
	if got := b.text("main"); !strings.Contains(got, "This page needs a stronger login") || !strings.Contains(got, grace) {
		t.Errorf("step-up page says %q", got)
	}
	if uris := brUpstreamURIs(e, "/admin/"); len(uris) != 0 {
		t.Fatalf("the upstream got %q before the passkey step", uris)
	}
	b.run("confirm with the passkey (step-up)", 15*time.Second,
		chromedp.Click("[data-passkey-mfa] [data-passkey-button]", chromedp.ByQuery),
		brAt(e.App, "/admin/panel"))
	checkCalls("step-up", brCall{Kind: "get", Allow: 1})
	if uris := brUpstreamURIs(e, "/admin/"); !slices.Equal(uris, []string{"/admin/panel?x=1 amr=pwd,webauthn,mfa"}) {
		t.Errorf("upstream got %q, want /admin/panel?x=1 once, with amr pwd,webauthn,mfa", uris)
	}
	if s := b.session(); !s.Authenticated || s.Email != grace || !brSameSet(s.AMR, "pwd", "webauthn", "mfa") {
		t.Errorf("portal session after step-up: %+v", s)
	}
	logout("log out Grace")

	// 5b. Grace logs in with her password: she is sent to /login/mfa, and has no session until
	// her passkey confirms it.
	b.use("")
	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, grace),
		brAt(portal, "/login/mfa"),
		chromedp.WaitVisible("[data-passkey-mfa] [data-passkey-button]", chromedp.ByQuery))
	if got := b.text("main"); !strings.Contains(got, "Your password was right") {
		t.Errorf("MFA page says %q", got)
	}
	if s := b.session(); s.Authenticated || s.Status != 401 {
		t.Fatalf("logged in after the password alone: %+v", s)
	}
	// The account page is not reachable either.
	b.run("account page before the passkey", 10*time.Second, chromedp.Navigate(portal+"/"), brAt(portal, "/login"))
	b.use(graceKey)
	b.run("confirm with the passkey (MFA)", 15*time.Second,
		chromedp.Navigate(portal+"/login/mfa"),
		chromedp.Click("[data-passkey-mfa] [data-passkey-button]", chromedp.ByQuery),
		account)
	if s := b.session(); !s.Authenticated || s.Email != grace || !brSameSet(s.AMR, "pwd", "webauthn", "mfa") {
		t.Errorf("session after password and passkey: %+v, want amr pwd webauthn mfa", s)
	}
	logout("log out Grace again")

	// 7. Ada logs in with her security key and deletes its passkey; the laptop's, now her only
	// way in, cannot be deleted.
	b.use(key)
	b.run("log in with the security key", 10*time.Second,
		chromedp.Navigate(portal+"/login"),
		chromedp.Click("[data-passkey-login] [data-passkey-button]", chromedp.ByQuery),
		account)
	if s := b.session(); s.Email != ada {
		t.Fatalf("login with the security key: %+v", s)
	}
	if row := b.text(`li[data-passkey-id="` + keyID + `"] .hint`); !strings.Contains(row, "last used") {
		t.Errorf("the key's row %q does not say when it was used", row)
	}
	b.run("delete a passkey", 10*time.Second,
		chromedp.Click(`li[data-passkey-id="`+keyID+`"] button.danger`, chromedp.ByQuery),
		brWaitJS(`document.querySelectorAll("ul.passkeys li").length === 1`), account)
	if rows := b.passkeyRows(); len(rows) != 1 || !strings.HasPrefix(rows[0], "Laptop | ") {
		t.Errorf("passkey list after deleting the security key's %q", rows)
	}
	b.run("delete the last passkey", 10*time.Second,
		chromedp.Click(laptopRow+` button.danger`, chromedp.ByQuery),
		brErrorShown("This is your only way to log in"))
	if rows := b.passkeyRows(); len(rows) != 1 || !strings.HasPrefix(rows[0], "Laptop | ") {
		t.Errorf("passkey list after refusing to delete the last %q", rows)
	}
	logout("log out Ada again")

	// Failure: the laptop no longer verifies its user (no fingerprint match). The login
	// fails with a message on the page and no session.
	b.use(laptop)
	b.run("switch off user verification", 5*time.Second, webauthn.SetUserVerified(laptop, false))
	b.takeCalls()
	b.run("passkey login without user verification", 15*time.Second,
		chromedp.Navigate(portal+"/login"),
		chromedp.Click("[data-passkey-login] [data-passkey-button]", chromedp.ByQuery),
		brErrorShown("The passkey request was cancelled or timed out."))
	checkCalls("login without user verification", modal)
	if s := b.session(); s.Authenticated {
		t.Fatalf("logged in without user verification: %+v", s)
	}
	// The authenticator claims to have verified no one (UV flag unset in a signed
	// assertion): the browser passes it on, the server refuses it.
	b.run("forge a missing UV flag", 5*time.Second,
		webauthn.SetUserVerified(laptop, true), webauthn.SetResponseOverrideBits(laptop).WithIsBadUV(true))
	b.run("passkey login with the UV flag unset", 15*time.Second,
		chromedp.Navigate(portal+"/login"),
		chromedp.Click("[data-passkey-login] [data-passkey-button]", chromedp.ByQuery),
		brErrorShown("The passkey could not be verified"))
	if s := b.session(); s.Authenticated {
		t.Fatalf("logged in with an assertion whose UV flag is unset: %+v", s)
	}

	// A browser without WebAuthn: the passkey controls stay hidden, and the second-factor page
	// says why it cannot go on instead of showing a button that does nothing.
	b.run("a browser without WebAuthn", 5*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`delete window.PublicKeyCredential;`).Do(ctx)
		return err
	}))
	b.takeCalls()
	var hidden []bool
	b.run("passkey controls without WebAuthn", 10*time.Second,
		chromedp.Navigate(portal+"/signup"), brAt(portal, "/signup"),
		chromedp.Evaluate(`[document.querySelector("[data-passkey-signup]").hidden]`, &hidden))
	var more []bool
	b.run("passkey login without WebAuthn", 10*time.Second,
		chromedp.Navigate(portal+"/login"), brAt(portal, "/login"),
		chromedp.Evaluate(`[document.querySelector("[data-passkey-login]").hidden]`, &more))
	if hidden = append(hidden, more...); !slices.Equal(hidden, []bool{true, true}) {
		t.Errorf("passkey controls on /signup and /login hidden: %v, want both hidden", hidden)
	}
	b.run("second factor without WebAuthn", 15*time.Second, brPasswordLogin(portal, grace),
		brAt(portal, "/login/mfa"), brErrorShown("This browser cannot use passkeys"),
		brWaitJS(`document.querySelector("[data-passkey-mfa] [data-passkey-button]").disabled`))
	checkCalls("pages without WebAuthn")
	if s := b.session(); s.Authenticated {
		t.Fatalf("logged in without the second factor: %+v", s)
	}
}

// brPasswordLogin fills in and submits the password form of /login.
func brPasswordLogin(portal, email string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Navigate(portal + "/login"),
		chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/login"] button[type=submit]`, chromedp.ByQuery),
	}
}

// brUpstreamURIs lists the upstream's requests whose URI starts with prefix, each as
// "<URI> amr=<X-User-Amr>".
func brUpstreamURIs(e *Env, prefix string) []string {
	e.Upstream.mu.Lock()
	defer e.Upstream.mu.Unlock()
	var out []string
	for _, r := range e.Upstream.reqs {
		if strings.HasPrefix(r.URI, prefix) {
			out = append(out, r.URI+" amr="+strings.Join(r.Values("X-User-Amr"), ","))
		}
	}
	return out
}

// brPasskeyID returns the server's ID of a virtual authenticator's credential (the
// credential ID, base64url; DevTools gives it in standard base64).
func brPasskeyID(t *testing.T, c *webauthn.Credential) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(c.CredentialID)
	if err != nil {
		t.Fatalf("credential ID %q: %v", c.CredentialID, err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// brSameSet reports whether got holds exactly the values want, in any order.
func brSameSet(got []string, want ...string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
