package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/i18n"
)

// brI18nEnglish returns the English texts of the catalogs that must not show on a page in
// lang: every text of at least two words, without arguments, whose translation differs.
func brI18nEnglish(lang string) []string {
	var out []string
	for _, k := range i18n.Keys(lang) {
		e, _ := i18n.Lookup(lang, k)
		if e.Plural == nil && !strings.Contains(k, "%") && strings.Contains(k, " ") && e.Text != k {
			out = append(out, k)
		}
	}
	return out
}

// TestBrowserPagesInEveryLanguage renders every hosted page reachable without a secret (the
// login, sign-up, code, magic-link, recovery, error and 404 pages; logged in with a password:
// the account page with its sessions, authenticator-app, connected-apps and app-password
// sections, the password, second-factor set-up, authenticator-app set-up, consent (a
// third-party client), device (the code form and a wrong code's answer), the admin
// console's pages (Ada is an administrator), logout and logged-out pages) in English,
// German, French and Spanish, the language coming from the browser's Accept-Language, in
// headless Chromium at phone width (375 CSS px, mobile emulation). It fails when a page
// overflows horizontally (document.documentElement.scrollWidth > clientWidth), when
// <html lang> is not the language asked for, or when a translated page still shows an
// English text of the catalogs. The screenshots go to $GATEHOUSE_SCREENSHOTS if set (else a
// temporary directory), named <lang>-<page>.png (full page).
func TestBrowserPagesInEveryLanguage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	outbox := filepath.Join(t.TempDir(), "outbox.txt")
	gh := strings.Replace(brPasskeyGatehouse, "signup open", "signup open\n\t\tlogin password passkey email_code magic_link\n\t\temail outbox "+outbox, 1) + `
		client partner {
			name "Partner Reports"
			redirect_uri {{.App}}/partner-cb
			scopes openid profile email offline_access
			consent required
		}`
	e := Start(t, Config{Localhost: true, Gatehouse: gh, Sites: brPasskeySites})
	const ada = "ada@example.test"
	adaID := e.CreateUser(ada, "admins")
	shots := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := brStartBrowser(t, e, chromium)
	b.autofill(false) // no passkey autofill: the login page stays as a user first sees it
	portal := e.Issuer
	b.run("phone viewport", 10*time.Second, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), network.Enable())

	for _, lang := range i18n.Languages {
		english := brI18nEnglish(lang)
		b.run("Accept-Language "+lang, 5*time.Second, network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": lang + ";q=1, en;q=0.1"}))
		check := func(page string) {
			t.Helper()
			var got struct {
				Lang           string
				Scroll, Client int
				Text           string
			}
			b.run(lang+" "+page+": read", 10*time.Second, chromedp.Evaluate(`({Lang: document.documentElement.lang,
				Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth,
				Text: document.body.innerText})`, &got))
			var png []byte
			b.run(lang+" "+page+": screenshot", 20*time.Second, chromedp.FullScreenshot(&png, 100))
			file := filepath.Join(shots, fmt.Sprintf("%s-%s.png", lang, page))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Errorf("save %s: %v", file, err)
			}
			if got.Lang != lang {
				t.Errorf("%s page in %s: <html lang=%q>", page, lang, got.Lang)
			}
			if got.Scroll > got.Client {
				t.Errorf("%s page in %s overflows at 375 px: scrollWidth %d > clientWidth %d (%s)", page, lang, got.Scroll, got.Client, file)
			}
			for _, en := range english {
				if strings.Contains(got.Text, en) {
					t.Errorf("%s page in %s shows the English %q (%s)", page, lang, en, file)
				}
			}
		}
		open := func(page, path string, ready string) {
			t.Helper()
			b.run(lang+" "+page, 15*time.Second, chromedp.Navigate(portal+path), brWaitJS(`document.readyState === "complete" && `+ready))
			check(page)
		}
		submit := func(page, ready string, fill ...chromedp.Action) {
			t.Helper()
			steps := append(fill, chromedp.Click(`main form button[type=submit]`, chromedp.ByQuery), brWaitJS(`document.readyState === "complete" && `+ready))
			b.run(lang+" "+page, 15*time.Second, steps...)
			check(page)
		}

		open("login", "/login", `!!document.querySelector("input[name=password]")`)
		open("signup", "/signup", `!!document.querySelector("input[name=fname]")`)
		open("code-start", "/login/code?channel=email", `!!document.querySelector("input[name=email]")`)
		// Addresses without an account, one per language and page: the pages are the same
		// (CR-06), and no address reaches its send limit.
		submit("code-verify", `!!document.querySelector("input[name=code]")`,
			chromedp.SendKeys(`main form input[name=email]`, "code-"+lang+"@example.test", chromedp.ByQuery))
		open("magic-link-start", "/login/magic-link", `!!document.querySelector("input[name=email]")`)
		submit("magic-link-sent", `!document.querySelector("input[name=email]")`,
			chromedp.SendKeys(`main form input[name=email]`, "link-"+lang+"@example.test", chromedp.ByQuery))
		open("magic-link-open", "/login/magic", `!!document.querySelector("form[data-magic-form]")`)
		open("recover", "/recover", `!!document.querySelector("input[name=identifier], input[name=email]")`)
		open("error", "/authorize?client_id=nobody&response_type=code", `!!document.querySelector("main h2")`)
		open("not-found", "/no-such-page", `!!document.querySelector("main h2")`)

		b.run(lang+" log in", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))
		check("account")
		open("password", "/account/password", `!!document.querySelector("main h2")`)
		// A third party's authorization request: the consent page, one line per scope.
		open("consent", "/authorize?"+url.Values{"client_id": {"partner"}, "response_type": {"code"},
			"redirect_uri": {e.App + "/partner-cb"}, "scope": {"openid profile email offline_access"}, "state": {"s-" + lang},
			"nonce": {"n-" + lang}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
			"code_challenge_method": {"S256"}}.Encode(), `!!document.querySelector("[data-consent-form]")`)
		// RFC 8628 §3.3: the user enters the code shown on the device; a wrong one is refused
		// on the same form, in the page's language.
		open("device", "/device", `!!document.querySelector("[data-device-input]")`)
		submit("device-wrong-code", `!!document.querySelector("[data-error]:not([hidden])")`,
			chromedp.SendKeys(`[data-device-input]`, "BCDF-GHJK", chromedp.ByQuery))
		open("account-sections", "/", `!!document.querySelector("[data-sessions]")`)
		b.run(lang+" authenticator-app set-up", 15*time.Second,
			chromedp.Click(`form[action$="/account/totp"] button`, chromedp.ByQuery),
			brWaitJS(`document.readyState === "complete" && !!document.querySelector("[data-totp-key]")`))
		check("totp-setup")
		b.run(lang+" second-factor set-up", 15*time.Second, chromedp.Navigate(e.App+"/admin/panel"), brAt(portal, "/authorize"),
			brWaitJS(`!document.querySelector("[data-passkey-register]").hidden`))
		check("mfa-setup")
		// The console: Ada is an administrator (reading it needs no second factor).
		for _, c := range []struct{ page, path, ready string }{
			{"console", "/admin/", "[data-count]"}, {"console-users", "/admin/users", "[data-users]"},
			{"console-user", "/admin/users/" + adaID, "[data-user-detail]"}, {"console-clients", "/admin/clients", "[data-clients]"},
			{"console-groups", "/admin/groups", "[data-groups]"}, {"console-audit", "/admin/audit", "main form[role=search]"},
			{"console-settings", "/admin/settings", "[data-settings]"}, {"console-templates", "/admin/templates", "[data-template]"},
			{"console-providers", "/admin/providers", "[data-provider-form]"}, {"console-roles", "/admin/roles", "[data-role-form]"},
		} {
			open(c.page, c.path, fmt.Sprintf(`!!document.querySelector(%q)`, c.ready))
		}
		open("logout", "/logout", `!!document.querySelector("main form button")`)
		submit("logged-out", `location.pathname !== "/logout" || !document.querySelector("main form")`)
	}
	t.Logf("screenshots: %s", shots)
}
