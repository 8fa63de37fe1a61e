package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// exampleJourney returns the `journey <name> { ... }` block of an example in
// examples/journeys/, as written there: the browser tests run the examples themselves.
func exampleJourney(t *testing.T, file, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "examples", "journeys", file))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	i := strings.Index(text, "journey "+name+" {")
	if i < 0 {
		t.Fatalf("%s has no journey %s", file, name)
	}
	depth := 0
	for j := i; j < len(text); j++ {
		switch text[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return text[i : j+1]
			}
		}
	}
	t.Fatalf("%s: journey %s is not closed", file, name)
	return ""
}

// TestBrowserJourneyPaymentApproval — issue 19's payment approval journey
// (examples/journeys/payment-approval.Caddyfile) in headless Chromium with a virtual
// authenticator, driven by a real OIDC client (go-oidc + x/oauth2): "The client sends the
// transaction ... in a pushed authorization request; the user sees exactly those values on a
// hosted page and approves with a passkey ...; the ID token carries approval_data exactly as
// approved, and amr says how. A declined ... approval ends the journey with access_denied."
func TestBrowserJourneyPaymentApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	gh := `signup open
		client bank {
			name "Example Bank"
			secret bank-secret-0123456789abcdef
			redirect_uri http://{{.UpstreamAddr}}/bank-cb
			scopes openid email
			require_pushed_authorization_requests
			default_journey pay
		}
		` + exampleJourney(t, "payment-approval.Caddyfile", "pay")
	e := Start(t, Config{Localhost: true, Gatehouse: gh, Sites: brApprovalSites})
	b := brStartBrowser(t, e, chromium)
	portal := e.Issuer
	ctx := oidc.ClientContext(Ctx(t), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		PAR    string   `json:"pushed_authorization_request_endpoint"`
		Claims []string `json:"claims_supported"`
	}
	if err := provider.Claims(&meta); err != nil || meta.PAR == "" || !slices.Contains(meta.Claims, "approval_data") {
		t.Fatalf("discovery pushed_authorization_request_endpoint %q, claims_supported %v (%v): want the endpoint and approval_data", meta.PAR, meta.Claims, err)
	}
	conf := &oauth2.Config{ClientID: "bank", ClientSecret: "bank-secret-0123456789abcdef", Endpoint: provider.Endpoint(),
		RedirectURL: "http://" + e.UpstreamAddr + "/bank-cb", Scopes: []string{oidc.ScopeOpenID, "email"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	b.run("sign up with a passkey", 20*time.Second,
		chromedp.Navigate(portal+"/signup"),
		chromedp.WaitVisible("[data-passkey-signup] [data-passkey-button]", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "ada@example.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=fname]`, "Ada", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=lname]`, "Lovelace", chromedp.ByQuery),
		chromedp.Click("[data-passkey-signup] [data-passkey-button]", chromedp.ByQuery),
		brPastEmailCheck(portal))
	b.autofill(false)

	push := func(tx, state, nonce, verifier string) string {
		t.Helper()
		form := url.Values{"response_type": {"code"}, "client_id": {"bank"}, "redirect_uri": {conf.RedirectURL},
			"scope": {"openid email"}, "state": {state}, "nonce": {nonce},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
			"approval_data": {tx}}
		requestURI := pushRequest(t, ctx, meta.PAR, conf.ClientID, conf.ClientSecret, form)
		return portal + "/authorize?" + url.Values{"client_id": {"bank"}, "request_uri": {requestURI}}.Encode()
	}
	atCallback := brWaitJS(`location.pathname === "/bank-cb"`)
	callback := func() url.Values {
		t.Helper()
		var href string
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(`location.href`, &href)); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(href)
		return u.Query()
	}
	// loginFor passes the hosted login of the journey's authenticate step id with the passkey.
	loginFor := func(id string) chromedp.Action {
		return chromedp.Tasks{
			brWaitJS(`location.pathname === "/login" && location.search.includes("step%3D` + id + `") && document.readyState === "complete"`),
			chromedp.WaitVisible("[data-passkey-login] [data-passkey-button]", chromedp.ByQuery),
			chromedp.Click("[data-passkey-login] [data-passkey-button]", chromedp.ByQuery),
		}
	}
	approvePage := brWaitJS(`(() => { const e = document.querySelector("[data-passkey-approve]"); return e && !e.hidden; })()`)

	const tx = `{"type":"payment","amount":"125.50","currency":"EUR","payee":"ACME GmbH","payment_method":"card 4242"}`
	verifier, nonce := oauth2.GenerateVerifier(), "n-"+oauth2.GenerateVerifier()[:8]
	// A browser the journey has not seen: login, then the passkey step-up, then the payment.
	b.run("the journey up to the approval page", 40*time.Second, chromedp.Navigate(push(tx, "s1", nonce, verifier)),
		loginFor("login"), loginFor("stepup"), approvePage)
	page := b.text("[data-transaction]")
	for _, want := range []string{"payment", "125.50 EUR", "ACME GmbH", "card 4242"} {
		if !strings.Contains(page, want) {
			t.Errorf("approval page shows %q, lacks %q", page, want)
		}
	}
	b.run("approve with the passkey", 20*time.Second,
		chromedp.Click("[data-passkey-approve] [data-passkey-button]", chromedp.ByQuery), atCallback)
	q := callback()
	if q.Get("state") != "s1" || q.Get("code") == "" {
		t.Fatalf("authorization response %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: "bank"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims struct {
		Nonce        string          `json:"nonce"`
		AMR          []string        `json:"amr"`
		ACR          string          `json:"acr"`
		ApprovalData json.RawMessage `json:"approval_data"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if string(claims.ApprovalData) != tx || !slices.Contains(claims.AMR, "webauthn") || claims.Nonce != nonce {
		t.Errorf("ID token approval_data %s, amr %v, nonce %q: want %s, webauthn, %q", claims.ApprovalData, claims.AMR, claims.Nonce, tx, nonce)
	}

	// The browser is known now (known_device): the next payment skips the step-up. Declined:
	// access_denied, no code.
	v2 := oauth2.GenerateVerifier()
	b.run("decline a payment", 40*time.Second,
		chromedp.Navigate(push(strings.Replace(tx, "125.50", "9999.00", 1), "s2", "n2", v2)),
		loginFor("login"), approvePage,
		chromedp.Click("[data-approve-decline]", chromedp.ByQuery), atCallback)
	if q := callback(); q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != "s2" {
		t.Errorf("declined: %v, want error=access_denied", q)
	}
}

// brJourneyClient starts Gatehouse with a public client cb (redirect http://<upstream>/cb)
// and the example journeys, and returns the env, a browser without passkey autofill, the
// OIDC provider and the client's config.
func brJourneyClient(t *testing.T, client, defaultJourney string, journeys ...string) (*Env, *brBrowser, *oidc.Provider, *oauth2.Config) {
	t.Helper()
	return brJourneyClientWith(t, "", client, defaultJourney, journeys...)
}

// brJourneyClientWith is brJourneyClient with more gatehouse options (extra).
func brJourneyClientWith(t *testing.T, extra, client, defaultJourney string, journeys ...string) (*Env, *brBrowser, *oidc.Provider, *oauth2.Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	gh := `signup open
		` + extra + `
		client ` + client + ` {
			name "Example App"
			redirect_uri http://{{.UpstreamAddr}}/cb
			scopes openid profile email
			default_journey ` + defaultJourney + `
		}
		` + strings.Join(journeys, "\n\t\t")
	e := Start(t, Config{Localhost: true, Gatehouse: gh, Sites: brApprovalSites})
	b := brStartBrowser(t, e, chromium)
	b.autofill(false)
	ctx := oidc.ClientContext(Ctx(t), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{ClientID: client, Endpoint: provider.Endpoint(), RedirectURL: "http://" + e.UpstreamAddr + "/cb",
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	return e, b, provider, conf
}

// brJourneyPasswordLogin passes the hosted login with the email and password.
func brJourneyPasswordLogin(email string) chromedp.Action {
	return chromedp.Tasks{
		brWaitJS(`location.pathname === "/login" && document.readyState === "complete"`),
		chromedp.SetValue(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`//button[normalize-space()="Log in"]`, chromedp.BySearch),
	}
}

var brAtCB = brWaitJS(`location.pathname === "/cb"`)

// brJourneyClaims are the ID token claims the journey tests look at.
type brJourneyClaims struct {
	Nonce         string   `json:"nonce"`
	AMR           []string `json:"amr"`
	NewUser       *bool    `json:"new_user"`
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          string   `json:"given_name"`
}

// brRedeem exchanges the code at the browser's /cb and verifies the ID token.
func brRedeem(t *testing.T, b *brBrowser, provider *oidc.Provider, conf *oauth2.Config, state, verifier string) (*oidc.IDToken, brJourneyClaims) {
	t.Helper()
	var href string
	if err := chromedp.Run(b.ctx, chromedp.Evaluate(`location.href`, &href)); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(href)
	q := u.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("authorization response %v, want a code and state %q", q, state)
	}
	ctx := oidc.ClientContext(Ctx(t), &http.Client{Timeout: 30 * time.Second})
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c brJourneyClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return idt, c
}

// TestBrowserJourneyProgressiveProfiling — examples/journeys/Caddyfile's first-login
// (issue 19: "progressive profiling on first login"): the first sign-in through the client
// asks for the company once and writes it to the profile and custom_data; the next sign-in
// goes straight back to the client.
func TestBrowserJourneyProgressiveProfiling(t *testing.T) {
	e, b, provider, conf := brJourneyClient(t, "shop", "first-login", exampleJourney(t, "Caddyfile", "first-login"))
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "jo@example.test", "password": Password, "email_verified": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	userID := r.JSON(t)["id"].(string)

	v := oauth2.GenerateVerifier()
	b.run("first sign-in: login and the profile form", 40*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(v))),
		brJourneyPasswordLogin("jo@example.test"),
		chromedp.WaitVisible(`[data-journey-form] input[name=company]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=company]`, "Initech", chromedp.ByQuery),
		chromedp.SetValue(`select[name=role]`, "manager", chromedp.ByQuery),
		chromedp.Click(`input[name=newsletter]`, chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		brAtCB)
	idt, c := brRedeem(t, b, provider, conf, "s1", v)
	if idt.Subject != userID || !slices.Equal(c.AMR, []string{"pwd"}) {
		t.Errorf("ID token sub %q amr %v, want %q [pwd]", idt.Subject, c.AMR, userID)
	}
	u := e.Admin(http.MethodGet, "/gatehouse/users/"+userID, nil)
	body := string(u.Body)
	for _, want := range []string{`"organization":"Initech"`, `"role":"manager"`, `"newsletter":true`} {
		if !strings.Contains(body, want) {
			t.Errorf("user after the first sign-in lacks %s: %s", want, body)
		}
	}
	// The profile is complete: the next sign-in returns to the client right after the login.
	v2 := oauth2.GenerateVerifier()
	b.run("second sign-in: no form", 30*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(v2))),
		brJourneyPasswordLogin("jo@example.test"), brAtCB)
	if idt, _ := brRedeem(t, b, provider, conf, "s2", v2); idt.Subject != userID {
		t.Errorf("second sign-in: sub %q", idt.Subject)
	}
}

// TestBrowserJourneySignup — examples/journeys/Caddyfile's join (issue 19: "an example file
// ... expresses the built-in sign-up as a journey"), asked for by the client with
// journey=join: the address, a new account, the names; the ID token says new_user and no
// amr (nothing was proven), and the account holds the names.
func TestBrowserJourneySignup(t *testing.T) {
	e, b, provider, conf := brJourneyClient(t, "shop", "first-login",
		exampleJourney(t, "Caddyfile", "first-login"), exampleJourney(t, "Caddyfile", "join"))
	v := oauth2.GenerateVerifier()
	b.run("sign up through the journey", 40*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("journey", "join"))),
		chromedp.WaitVisible(`[data-journey-form] input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "new@example.test", chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-journey-form] input[name=fname]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=fname]`, "Nova", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=lname]`, "Stern", chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		brAtCB)
	idt, c := brRedeem(t, b, provider, conf, "s1", v)
	if c.NewUser == nil || !*c.NewUser || len(c.AMR) != 0 || c.Email != "new@example.test" {
		t.Errorf("ID token new_user %v amr %v email %q: want true, none, new@example.test", c.NewUser, c.AMR, c.Email)
	}
	u := e.Admin(http.MethodGet, "/gatehouse/users/"+idt.Subject, nil)
	if body := string(u.Body); u.Status != http.StatusOK || !strings.Contains(body, `"fname":"Nova"`) || !strings.Contains(body, `"lname":"Stern"`) {
		t.Errorf("the new account: %s", u)
	}
	// The same address again: create_user refuses a second account.
	b.run("sign up again with the address", 30*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("journey", "join"))),
		chromedp.WaitVisible(`[data-journey-form] input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "new@example.test", chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		brWaitJS(`location.pathname === "/cb" || !!document.querySelector("[data-journey-error], [data-field-error], .error")`))
	var href string
	_ = chromedp.Run(b.ctx, chromedp.Evaluate(`location.href`, &href))
	if strings.Contains(href, "code=") {
		t.Errorf("a second account for the same address: %s", href)
	}
}

// TestBrowserJourneyPasskeyAfterThirdLogin — examples/journeys/passkey-after-third-login
// (issue 19: "add a passkey after the third password login"): the first two password
// sign-ins return to the client at once; the third asks for a passkey, which the user adds
// on the account page with the virtual authenticator, then continues back to the client.
func TestBrowserJourneyPasskeyAfterThirdLogin(t *testing.T) {
	e, b, provider, conf := brJourneyClient(t, "intranet", "nudge", exampleJourney(t, "passkey-after-third-login.Caddyfile", "nudge"))
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "jo@example.test", "password": Password, "email_verified": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	userID := r.JSON(t)["id"].(string)
	for i, state := range []string{"s1", "s2"} {
		v := oauth2.GenerateVerifier()
		b.run("password sign-in "+state, 30*time.Second,
			chromedp.Navigate(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(v))),
			brJourneyPasswordLogin("jo@example.test"), brAtCB)
		if idt, _ := brRedeem(t, b, provider, conf, state, v); idt.Subject != userID {
			t.Fatalf("sign-in %d: sub %q", i+1, idt.Subject)
		}
	}
	v := oauth2.GenerateVerifier()
	b.run("third sign-in: the passkey offer", 30*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(v))),
		brJourneyPasswordLogin("jo@example.test"),
		chromedp.WaitVisible(`[data-journey-redirect]`, chromedp.ByQuery))
	// Continuing without a passkey is refused: the step asks again.
	b.run("continue without a passkey", 20*time.Second,
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-journey-error]`, chromedp.ByQuery))
	// The page links to the account page (target _blank; the test follows it in its tab).
	accountPage := b.attr(`[data-journey-redirect]`, "href")
	if !strings.HasPrefix(accountPage, e.Issuer+"/") && !strings.HasPrefix(accountPage, "/") {
		t.Fatalf("the passkey link %q leaves the portal", accountPage)
	}
	if strings.HasPrefix(accountPage, "/") {
		accountPage = e.Issuer + accountPage
	}
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	b.run("add the passkey on the account page", 30*time.Second,
		chromedp.Navigate(accountPage),
		chromedp.WaitVisible(`[data-passkey-register] [data-passkey-button]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=passkey_name]`, "Laptop", chromedp.ByQuery),
		chromedp.Click(`[data-passkey-register] [data-passkey-button]`, chromedp.ByQuery),
		brWaitJS(`document.body.textContent.includes("Laptop") && document.readyState === "complete"`))
	b.run("back to the journey", 30*time.Second,
		chromedp.Navigate(e.Issuer+"/journey"),
		chromedp.WaitVisible(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery), brAtCB)
	if idt, c := brRedeem(t, b, provider, conf, "s3", v); idt.Subject != userID || !slices.Equal(c.AMR, []string{"pwd"}) {
		t.Errorf("third sign-in: sub %q amr %v", idt.Subject, c.AMR)
	}
	u := e.Admin(http.MethodGet, "/gatehouse/users/"+userID, nil)
	if body := string(u.Body); !strings.Contains(body, `"password_logins":3`) {
		t.Errorf("the counter after three sign-ins: %s", body)
	}
}

// TestBrowserJourneySignupVerified — examples/journeys/signup-verified.Caddyfile (issue 19:
// "the built-in sign-up ... as a journey"), asked for by the client with journey=signup: the
// address, a new account, the email code (verify_email), the names, then a passkey on the
// account page (the new user, who has no portal session yet, logs in there with an email
// code first). The ID token says new_user, email_verified, and no amr (the journey
// authenticated nobody: create_user's authentication is not a login).
func TestBrowserJourneySignupVerified(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox.txt")
	e, b, provider, conf := brJourneyClientWith(t, "login password passkey email_code\n\t\temail outbox "+outbox, "app", "signup",
		exampleJourney(t, "signup-verified.Caddyfile", "signup"))
	const addr = "vera@example.test"
	code := func(kind string) string {
		t.Helper()
		body, err := outboxMessage(outbox, kind, addr, nil, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m := otCodeRe.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no code in the message:\n%s", body)
		}
		return m[1]
	}
	v := oauth2.GenerateVerifier()
	b.run("address", 30*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(v))),
		chromedp.WaitVisible(`[data-journey-form] input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, addr, chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-journey-form] input[name=code]`, chromedp.ByQuery))
	b.run("email code and names", 30*time.Second,
		chromedp.SendKeys(`input[name=code]`, code("verify_email"), chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-journey-form] input[name=fname]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=fname]`, "Vera", chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-journey-redirect]`, chromedp.ByQuery))
	accountPage := b.attr(`[data-journey-redirect]`, "href")
	if strings.HasPrefix(accountPage, "/") {
		accountPage = e.Issuer + accountPage
	}
	b.run("log in on the account page with an email code", 30*time.Second,
		chromedp.Navigate(accountPage),
		brWaitJS(`location.pathname === "/login" && document.readyState === "complete"`),
		chromedp.Click(`//a[normalize-space()="Email me a code"]`, chromedp.BySearch),
		chromedp.WaitVisible(`input[name=email]`, chromedp.ByQuery),
		chromedp.SetValue(`input[name=email]`, addr, chromedp.ByQuery),
		chromedp.Submit(`input[name=email]`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[name=code]`, chromedp.ByQuery))
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	b.run("add the passkey", 30*time.Second,
		chromedp.SendKeys(`input[name=code]`, code("login_code"), chromedp.ByQuery),
		chromedp.Submit(`input[name=code]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-passkey-register] [data-passkey-button]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=passkey_name]`, "Laptop", chromedp.ByQuery),
		chromedp.Click(`[data-passkey-register] [data-passkey-button]`, chromedp.ByQuery),
		brWaitJS(`document.body.textContent.includes("Laptop") && document.readyState === "complete"`))
	b.run("back to the journey", 30*time.Second,
		chromedp.Navigate(e.Issuer+"/journey"),
		chromedp.WaitVisible(`[data-journey-continue]`, chromedp.ByQuery),
		chromedp.Click(`[data-journey-continue]`, chromedp.ByQuery), brAtCB)
	idt, c := brRedeem(t, b, provider, conf, "s1", v)
	if c.NewUser == nil || !*c.NewUser || len(c.AMR) != 0 || c.Email != addr || c.EmailVerified == nil || !*c.EmailVerified {
		t.Errorf("ID token new_user %v amr %v email %q verified %v: want true, none, %s, true", c.NewUser, c.AMR, c.Email, c.EmailVerified, addr)
	}
	if u := e.Admin(http.MethodGet, "/gatehouse/users/"+idt.Subject, nil); !strings.Contains(string(u.Body), `"fname":"Vera"`) {
		t.Errorf("the new account: %s", u)
	}
}
