package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// brApprovalGatehouse is a bank app (confidential client) that must push its requests.
const brApprovalGatehouse = `signup open
		client bank {
			name "Example Bank"
			secret bank-secret-0123456789abcdef
			redirect_uri http://{{.UpstreamAddr}}/bank-cb
			scopes openid email
			require_pushed_authorization_requests
		}
		client shop {
			redirect_uri http://{{.UpstreamAddr}}/bank-cb
			scopes openid email
		}`

const brApprovalSites = `
{{.App}} {
	bind 127.0.0.1
	respond "app"
}`

// TestBrowserTransactionApproval — issue 19's payment approval in headless Chromium with a
// virtual authenticator, driven by a real OIDC client (go-oidc + x/oauth2): the bank pushes
// the payment (RFC 9126), the user sees exactly its values and approves with the passkey,
// and the verified ID token carries approval_data as approved with amr webauthn. A second
// payment is declined: access_denied.
func TestBrowserTransactionApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	e := Start(t, Config{Localhost: true, Gatehouse: brApprovalGatehouse, Sites: brApprovalSites})
	b := brStartBrowser(t, e, chromium)
	portal := e.Issuer
	ctx := oidc.ClientContext(Ctx(t), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		PAR string `json:"pushed_authorization_request_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil || meta.PAR != e.Issuer+"/par" {
		t.Fatalf("discovery pushed_authorization_request_endpoint %q (%v)", meta.PAR, err)
	}
	conf := &oauth2.Config{ClientID: "bank", ClientSecret: "bank-secret-0123456789abcdef", Endpoint: provider.Endpoint(),
		RedirectURL: "http://" + e.UpstreamAddr + "/bank-cb", Scopes: []string{oidc.ScopeOpenID, "email"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

	// The user signs up with a passkey on the laptop's authenticator.
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	b.run("sign up with a passkey", 20*time.Second,
		chromedp.Navigate(portal+"/signup"),
		chromedp.WaitVisible("[data-passkey-signup] [data-passkey-button]", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "ada@example.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=fname]`, "Ada", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=lname]`, "Lovelace", chromedp.ByQuery),
		chromedp.Click("[data-passkey-signup] [data-passkey-button]", chromedp.ByQuery),
		brPastEmailCheck(portal))

	// push sends the payment as the bank's back end does and returns the URL for the browser.
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

	const tx = `{"type":"payment","amount":"125.50","currency":"EUR","payee":"ACME GmbH","payment_method":"card 4242"}`
	verifier, nonce := oauth2.GenerateVerifier(), "n-"+oauth2.GenerateVerifier()[:8]
	b.run("open the approval page", 15*time.Second, chromedp.Navigate(push(tx, "s1", nonce, verifier)),
		brAt(portal, "/authorize"), brWaitJS(`!document.querySelector("[data-passkey-approve]").hidden`))
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
		ApprovalData json.RawMessage `json:"approval_data"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if string(claims.ApprovalData) != tx || !slices.Contains(claims.AMR, "webauthn") || claims.Nonce != nonce {
		t.Errorf("ID token approval_data %s, amr %v, nonce %q: want %s, webauthn, %q", claims.ApprovalData, claims.AMR, claims.Nonce, tx, nonce)
	}

	// A second payment, declined: access_denied, no code.
	v2 := oauth2.GenerateVerifier()
	b.run("decline a payment", 20*time.Second,
		chromedp.Navigate(push(strings.Replace(tx, "125.50", "9999.00", 1), "s2", "n2", v2)),
		brAt(portal, "/authorize"), chromedp.WaitVisible("[data-approve-decline]", chromedp.ByQuery),
		chromedp.Click("[data-approve-decline]", chromedp.ByQuery), atCallback)
	if q := callback(); q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != "s2" {
		t.Errorf("declined: %v, want error=access_denied", q)
	}
	// The bank must push: the same request on /authorize directly is refused.
	b.run("a plain request of the bank", 15*time.Second,
		chromedp.Navigate(conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(v2))), atCallback)
	if q := callback(); q.Get("error") != "invalid_request" {
		t.Errorf("plain /authorize of a client that must push: %v", q)
	}
	// approval_data is accepted only pushed: on /authorize itself, even from a client that
	// need not push, it is refused (invalid_request naming it), with no approval page.
	plain := portal + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"shop"},
		"redirect_uri": {conf.RedirectURL}, "scope": {"openid"}, "state": {"s4"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(v2)}, "code_challenge_method": {"S256"},
		"approval_data": {tx}}.Encode()
	b.run("approval_data on a plain request", 15*time.Second, chromedp.Navigate(plain), atCallback)
	if q := callback(); q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "approval_data") || q.Get("code") != "" {
		t.Errorf("approval_data on /authorize: %v", q)
	}
}
