package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// deviceClients are a public device client (the short form of the grant type) and a
// confidential client without the grant.
const deviceClients = `
		client tv {
			name "Living-room TV"
			grant_types device_code refresh_token
			scopes openid email offline_access
		}
		client webapp {
			secret webapp-secret-of-16+
			redirect_uri {{.RP}}/cb
		}`

// deviceError returns the OAuth error code of a failed x/oauth2 call ("" for another error).
func deviceError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// TestDeviceFlow — issue 16, "Device authorization grant (RFC 8628)", against real Caddy, a
// real Badger store and headless Chromium: golang.org/x/oauth2's DeviceAuth and
// DeviceAccessToken drive the device side, found through discovery (go-oidc); the user logs
// in on the portal in the browser, opens verification_uri_complete, confirms the code and
// approves; the device's poll then gets tokens, the ID token verified with go-oidc and
// carrying the session's auth_time and amr. Then the failure paths of RFC 8628 §3.5: polling
// too fast → slow_down; denying → access_denied; an expired device code → expired_token; a
// user code used twice is refused on the page; a client without the grant gets
// unauthorized_client (RFC 6749 §5.2).
func TestDeviceFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := testenv.Chromium(t, "this browser test (the device flow's verification page)")
	e := Start(t, Config{Gatehouse: deviceClients})
	const ada = "ada.device@example.test"
	e.CreateUser(ada)
	ctx, cancel := context.WithTimeout(Ctx(t), 3*time.Minute)
	defer cancel()

	// RFC 8628 §4: the device finds the endpoint in the metadata.
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		Device     string   `json:"device_authorization_endpoint"`
		GrantTypes []string `json:"grant_types_supported"`
	}
	if err := provider.Claims(&meta); err != nil || meta.Device != e.Issuer+"/device/code" ||
		!slices.Contains(meta.GrantTypes, "urn:ietf:params:oauth:grant-type:device_code") {
		t.Fatalf("discovery: %+v %v", meta, err)
	}
	cfg := oauth2.Config{ClientID: "tv", Scopes: []string{oidc.ScopeOpenID, "email", "offline_access"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: meta.Device, TokenURL: provider.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInParams}}

	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if len(da.UserCode) != 9 || da.VerificationURI != e.Issuer+"/device" ||
		da.VerificationURIComplete != e.Issuer+"/device?user_code="+da.UserCode || da.Interval != 5 || time.Until(da.Expiry) < 9*time.Minute {
		t.Fatalf("device authorization response %+v", da)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	polled := make(chan result, 1)
	go func() {
		tok, err := cfg.DeviceAccessToken(ctx, da)
		polled <- result{tok, err}
	}()

	b := brStartBrowser(t, e, chromium)
	b.run("open verification_uri_complete: the login page first", 20*time.Second,
		chromedp.Navigate(da.VerificationURIComplete),
		brWaitJS(`location.pathname === "/login" && !!document.querySelector("input[name=password]")`))
	b.run("log in: back on the device page, the code filled in", 20*time.Second,
		chromedp.SendKeys(`input[name=email]`, ada, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/login"] button[type=submit]`, chromedp.ByQuery),
		brAt(e.Issuer, "/device"),
		brWaitJS(fmt.Sprintf(`document.querySelector("[data-device-input]").value === %q`, da.UserCode)))
	b.run("continue: the page says which client asks for what", 20*time.Second,
		chromedp.Click(`[data-device-continue]`, chromedp.ByQuery),
		brWaitJS(`!!document.querySelector("[data-device-approve]")`))
	if app, code, scopes := b.text("[data-device-app]"), b.text("[data-device-code]"), b.text("[data-device-scopes]"); !strings.Contains(app, "Living-room TV") ||
		code != da.UserCode || !strings.Contains(scopes, "email") || !strings.Contains(scopes, "offline_access") {
		t.Fatalf("confirmation page: %q %q %q", app, code, scopes)
	}
	b.run("approve", 20*time.Second,
		chromedp.Click(`[data-device-approve]`, chromedp.ByQuery),
		brWaitJS(`!!document.querySelector('[data-device-done="approved"]')`))

	var res result
	select {
	case res = <-polled:
	case <-time.After(time.Minute):
		t.Fatal("the device got no tokens within a minute of the approval")
	}
	if res.err != nil {
		t.Fatalf("DeviceAccessToken: %v", res.err)
	}
	if res.tok.AccessToken == "" || res.tok.RefreshToken == "" {
		t.Fatalf("tokens %+v", res.tok)
	}
	rawID, _ := res.tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "tv"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Email    string   `json:"email"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		SID      string   `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != ada || !slices.Contains(claims.AMR, "pwd") ||
		claims.SID == "" || time.Since(time.Unix(claims.AuthTime, 0)) > 2*time.Minute {
		t.Fatalf("ID token claims %+v %v", claims, err)
	}
	// The refresh token works as the code flow's does.
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: res.tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("refresh: %v", err)
	}

	// The user code is never accepted twice.
	b.run("the used code again", 20*time.Second,
		chromedp.Navigate(da.VerificationURIComplete),
		brAt(e.Issuer, "/device"),
		chromedp.Click(`[data-device-continue]`, chromedp.ByQuery),
		brErrorShown("not valid or has expired"))

	// RFC 8628 §3.5 slow_down: a poll sooner than the interval after the previous one.
	da2, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da2.DeviceCode}, "client_id": {"tv"}}
	if r := e.Token(poll); r.Status != 400 || r.JSON(t)["error"] != "authorization_pending" {
		t.Fatalf("first poll: %s", r)
	}
	if r := e.Token(poll); r.Status != 400 || r.JSON(t)["error"] != "slow_down" {
		t.Fatalf("second poll at once: %s", r)
	}

	// access_denied: the user denies on the page.
	da3, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.run("deny", 20*time.Second,
		chromedp.Navigate(da3.VerificationURIComplete),
		brAt(e.Issuer, "/device"),
		chromedp.Click(`[data-device-continue]`, chromedp.ByQuery),
		brWaitJS(`!!document.querySelector("[data-device-deny]")`),
		chromedp.Click(`[data-device-deny]`, chromedp.ByQuery),
		brWaitJS(`!!document.querySelector('[data-device-done="denied"]')`))
	if _, err := cfg.DeviceAccessToken(ctx, da3); deviceError(err) != "access_denied" {
		t.Fatalf("poll after denial: %v, want access_denied", err)
	}

	// expired_token: the device code's expiry moved into the past in the store (white-box:
	// waiting out expires_in would take ten minutes).
	da4, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Provider(t).Store.UpdateOneTimeCode(ctx, secret.Hash(da4.DeviceCode), func(c store.OneTimeCode) (store.OneTimeCode, error) {
		c.Data["expires"] = strconv.FormatInt(time.Now().Add(-time.Second).UnixNano(), 10)
		return c, nil
	}); err != nil {
		t.Fatalf("age the device code: %v", err)
	}
	if _, err := cfg.DeviceAccessToken(ctx, da4); deviceError(err) != "expired_token" {
		t.Fatalf("poll of an expired device code: %v, want expired_token", err)
	}

	// A client without the grant: unauthorized_client, at both endpoints.
	web := oauth2.Config{ClientID: "webapp", ClientSecret: "webapp-secret-of-16+", Scopes: []string{oidc.ScopeOpenID},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: meta.Device, TokenURL: provider.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInHeader}}
	// (x/oauth2's DeviceAuth sends no secret of its own: RFC 8628 §3.1 says a confidential
	// client authenticates as at the token endpoint, here with client_secret_post.)
	if _, err := web.DeviceAuth(ctx); deviceError(err) != "invalid_client" {
		t.Fatalf("device authorization of a confidential client without its secret: %v, want invalid_client", err)
	}
	if _, err := web.DeviceAuth(ctx, oauth2.SetAuthURLParam("client_secret", web.ClientSecret)); deviceError(err) != "unauthorized_client" {
		t.Fatalf("device authorization of a client without the grant: %v, want unauthorized_client", err)
	}
	r := e.Token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da2.DeviceCode}}, "webapp", "webapp-secret-of-16+")
	if r.Status != 400 || r.JSON(t)["error"] != "unauthorized_client" {
		t.Fatalf("poll by a client without the grant: %s", r)
	}
}
