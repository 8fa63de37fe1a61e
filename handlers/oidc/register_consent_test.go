package oidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// RFC 6819 §4.2.2 (malicious client obtains existing authorization by fraud) with `registration
// open`: a client registered through /register with its own redirect URI, even one saying
// "consent_required": false, sends a logged-in user to /authorize. The user gets the consent
// page — which says the client registered itself and names the host the answer goes to (RFC
// 7591 §5: an authorization server "can also present warning messages to end users about
// dynamically registered clients in all cases") — and no code; Deny answers access_denied
// (OIDC Core §3.1.2.6); only Allow gives a code. A configured third party shows no such
// warning.
func TestRegisteredClientAsksConsentBeforeAnyCode(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationOpen, "iat-secret-value")
	reg := jsonBody(t, e.regRequest(http.MethodPost, PathRegister, "iat-secret-value",
		`{"redirect_uris":["https://attacker.test:8443/cb"],"token_endpoint_auth_method":"none","client_name":"Helpful Tool","consent_required":false}`),
		http.StatusCreated)
	id, _ := reg["client_id"].(string)
	_, challenge := idptest.PKCE()
	authorize := PathAuthorize + "?" + url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://attacker.test:8443/cb"},
		"scope": {"openid email"}, "state": {"st-9"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
	b := newBrowser(e)

	page := b.get(authorize)
	consentForm(t, page)
	body := page.Body.String()
	for _, want := range []string{"Helpful Tool", "data-registered", "registered itself", "attacker.test:8443"} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q:\n%s", want, body)
		}
	}
	w := b.decide(t, page, "deny")
	p := redirectParams(t, w)
	if !strings.HasPrefix(w.Header().Get("Location"), "https://attacker.test:8443/cb?") || p.Get("error") != codeAccessDenied ||
		p.Get("code") != "" || p.Get("state") != "st-9" {
		t.Fatalf("deny: %s", w.Header().Get("Location"))
	}
	allow := b.decide(t, b.get(authorize), "allow")
	if allow.Code != http.StatusSeeOther {
		t.Fatalf("allow: %d %s", allow.Code, allow.Header().Get("Location"))
	}
	w = b.get(allow.Header().Get("Location"))
	if p := redirectParams(t, w); p.Get("code") == "" || p.Get("state") != "st-9" {
		t.Fatalf("after Allow: %s, want a code", w.Header().Get("Location"))
	}

	if body := b.get(partnerAuthorize("openid")).Body.String(); strings.Contains(body, "data-registered") {
		t.Error("a configured third-party client is shown as self-registered")
	}
}

// sendsTo names the redirect URI's host with its port, or a native app's private-use scheme.
func TestConsentSendsTo(t *testing.T) {
	for in, want := range map[string]string{"https://rp.test/cb": "rp.test", "http://127.0.0.1:8080/cb": "127.0.0.1:8080",
		"com.example.app:/cb": "the app com.example.app:"} {
		if got := sendsTo(in); got != want {
			t.Errorf("sendsTo(%q) = %q, want %q", in, got, want)
		}
	}
}
