package e2e

import (
	"encoding/base32"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/login/totp"
)

// brTOTP computes a user's authenticator codes as their app would (RFC 6238, the key read
// from the setup page), never a step twice.
type brTOTP struct {
	t    *testing.T
	raw  []byte
	last int64
}

// at returns the code of the step shift steps from now.
func (a *brTOTP) at(shift int64) (string, int64) {
	a.t.Helper()
	step := time.Now().Unix()/totp.Period + shift
	c, err := totp.Code(a.raw, step)
	if err != nil {
		a.t.Fatal(err)
	}
	return c, step
}

// next returns a code of a step later than any used, inside the ±1 window (RFC 6238 §5.2),
// waiting for the clock when the next step is not in the window yet.
func (a *brTOTP) next() string {
	a.t.Helper()
	for {
		cur := time.Now().Unix() / totp.Period
		step := max(a.last+1, cur-1)
		if step <= cur+1 {
			c, err := totp.Code(a.raw, step)
			if err != nil {
				a.t.Fatal(err)
			}
			a.last = step
			return c
		}
		time.Sleep(time.Second)
	}
}

// TestBrowserTOTP — issue 16 (authenticator-app MFA, RFC 6238; CR-09, CR-10, CR-18,
// CR-19), in headless Chromium, typing what a user types: Ada sets up an authenticator app
// on the account page (the QR code is a server-made PNG the CSP lets the page show; the key
// is read from the page and the codes are computed by the test as her app would), confirms
// it with a first code and gets ten recovery codes once; logs out; logs in with her
// password, is asked for a code (no session meanwhile, CR-18); a code outside the ±1-step
// window and a code already used are refused (RFC 6238 §5.2, CR-10); the right code opens
// the `mfa required` route with amr pwd,otp,mfa; a recovery code logs her in once, and the
// same code a second time is refused.
func TestBrowserTOTP(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: brPasskeyGatehouse, Sites: brPasskeySites})
	b := brStartBrowser(t, e, chromium)
	const ada = "ada@example.test"
	e.CreateUser(ada)
	portal := e.Issuer
	logout := func(step string) {
		t.Helper()
		b.run(step, 10*time.Second,
			chromedp.Navigate(portal+"/"), brAt(portal, "/"),
			chromedp.Click(`form[action$="/logout"] button[type=submit]`, chromedp.ByQuery),
			brWaitJS(`document.querySelector("h2").textContent === "You are logged out"`))
		if s := b.session(); s.Authenticated {
			t.Fatalf("%s: still logged in: %+v", step, s)
		}
	}
	enterCode := func(form, code string) chromedp.Action {
		return chromedp.Tasks{
			chromedp.WaitVisible(form+` input[name=code]`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector(`+strconv.Quote(form+` input[name=code]`)+`).value = ""`, nil),
			chromedp.SendKeys(form+` input[name=code]`, code, chromedp.ByQuery),
			// The error of the previous answer goes, so that errorSays waits for the page that
			// answers this code, not the one still on screen (same path).
			chromedp.Evaluate(`document.querySelectorAll("[data-error]").forEach(e => e.remove())`, nil),
			chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery),
		}
	}
	// errorSays waits for the page that answers a refused code (at the form's action).
	errorSays := func(step, path, want string) {
		t.Helper()
		b.run(step, 10*time.Second, brAt(portal, path), chromedp.WaitVisible(`[data-error]`, chromedp.ByQuery))
		if got := b.text("[data-error]"); !strings.Contains(got, want) {
			t.Errorf("%s: page says %q, want %q", step, got, want)
		}
		if s := b.session(); s.Authenticated {
			t.Fatalf("%s: logged in: %+v", step, s)
		}
	}

	// 1. Set up the app on the account page.
	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
	b.run("start the setup", 15*time.Second,
		chromedp.Click(`form[action$="/account/totp"] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/account/totp"),
		// The QR code is a PNG data: URI: it loaded, so the page's CSP allows it.
		brWaitJS(`(() => { const i = document.querySelector("main img"); return i && i.complete && i.naturalWidth > 0 && i.src.startsWith("data:image/png;base64,"); })()`))
	key := b.text("[data-totp-key]")
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(key, " ", ""))
	if err != nil || len(raw) != 20 {
		t.Fatalf("key on the page %q: %v (%d bytes)", key, err, len(raw))
	}
	app := &brTOTP{t: t, raw: raw}
	first := app.next()
	b.run("confirm with a first code", 15*time.Second, enterCode(`form[action$="/account/totp/confirm"]`, first),
		brAt(portal, "/account/totp/confirm"), chromedp.WaitVisible("[data-recovery-codes]", chromedp.ByQuery))
	var codes []string
	b.run("read the recovery codes", 5*time.Second, chromedp.Evaluate(
		`[...document.querySelectorAll("[data-recovery-codes] code")].map(c => c.textContent)`, &codes))
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10: %q", len(codes), codes)
	}
	b.run("account page", 10*time.Second, chromedp.Navigate(portal+"/"), brAt(portal, "/"))
	if on, left := b.attr("[data-totp-status]", "data-totp-status"), b.attr("[data-recovery-left]", "data-recovery-left"); on != "on" || left != "10" {
		t.Errorf("account page: app %q, recovery codes left %q; want on, 10", on, left)
	}
	if strings.Contains(b.text("main"), key) {
		t.Error("the account page shows the key again")
	}
	logout("log out after the setup")

	// 2. Password, then the code: outside the window and reused codes are refused.
	b.run("log in with the password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/login/mfa"),
		chromedp.WaitVisible(`form[data-totp-form] input[name=code]`, chromedp.ByQuery))
	if s := b.session(); s.Authenticated {
		t.Fatalf("logged in after the password alone (CR-18): %+v", s)
	}
	old, _ := app.at(-3)
	b.run("a code three steps old", 10*time.Second, enterCode(`form[data-totp-form]`, old))
	errorSays("a code three steps old", "/login/mfa/totp", "wrong or expired")
	b.run("the setup's code again", 10*time.Second, enterCode(`form[data-totp-form]`, first))
	errorSays("the setup's code again", "/login/mfa/totp", "already used")
	b.run("open the mfa route", 15*time.Second, chromedp.Navigate(e.App+"/admin/panel?x=1"), brAt(portal, "/login"))
	b.run("log in again on the way to the route", 15*time.Second,
		chromedp.SendKeys(`input[name=email]`, ada, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/login"] button[type=submit]`, chromedp.ByQuery),
		brAt(portal, "/login/mfa"), chromedp.WaitVisible(`form[data-totp-form] input[name=code]`, chromedp.ByQuery))
	if uris := brUpstreamURIs(e, "/admin/"); len(uris) != 0 {
		t.Fatalf("the upstream got %q before the second factor", uris)
	}
	b.run("the right code", 15*time.Second, enterCode(`form[data-totp-form]`, app.next()), brAt(e.App, "/admin/panel"))
	if uris := brUpstreamURIs(e, "/admin/"); !slices.Equal(uris, []string{"/admin/panel?x=1 amr=pwd,otp,mfa"}) {
		t.Errorf("upstream got %q, want /admin/panel?x=1 once, with amr pwd,otp,mfa", uris)
	}
	if s := b.session(); !s.Authenticated || !brSameSet(s.AMR, "pwd", "otp", "mfa") {
		t.Errorf("portal session: %+v, want amr pwd otp mfa", s)
	}
	logout("log out after the code")

	// 3. A recovery code works once.
	useRecovery := func(step string) {
		t.Helper()
		b.run(step, 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/login/mfa"),
			chromedp.Click(`details summary`, chromedp.ByQuery),
			chromedp.WaitVisible(`form[data-recovery-form] input[name=code]`, chromedp.ByQuery),
			enterCode(`form[data-recovery-form]`, codes[4]))
	}
	useRecovery("log in with a recovery code")
	b.run("logged in by the recovery code", 10*time.Second, brAt(portal, "/"))
	if s := b.session(); !s.Authenticated || !brSameSet(s.AMR, "pwd", "mfa") {
		t.Errorf("session after a recovery code: %+v, want amr pwd mfa", s)
	}
	if left := b.attr("[data-recovery-left]", "data-recovery-left"); left != "9" {
		t.Errorf("recovery codes left %q, want 9", left)
	}
	logout("log out after the recovery code")
	useRecovery("the same recovery code again")
	errorSays("the same recovery code again", "/login/mfa/recovery", "already used")
}
