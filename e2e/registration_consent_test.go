package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	consentRequestRe = regexp.MustCompile(`name="request" value="([^"]*)"`)
	consentUserRe    = regexp.MustCompile(`name="user" value="([^"]*)"`)
)

// consentPage sends the browser (logged in at the portal) to /authorize and asserts that it
// stops at the consent page: a 200 page with the consent form, never a redirect to the
// client's redirect URI (no code before the user decides).
func (e *Env) consentPage(b *Browser, params url.Values) *Resp {
	e.t.Helper()
	ru := params.Get("redirect_uri")
	r := b.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, func(u *url.URL) bool {
		return strings.HasPrefix(u.String(), ru)
	})
	if r.Status != http.StatusOK || r.URL.Path != "/authorize" || !strings.Contains(string(r.Body), "data-consent-form") {
		loc := r.Header.Get("Location")
		e.t.Fatalf("authorize: expected the consent page, got %s (Location %q, hops %v)", r, loc, r.Hops)
	}
	return r
}

// consentDecide posts the consent page's form with decision (allow or deny) and the page's
// CSRF token, and returns the authorization response's query at the redirect URI.
func (e *Env) consentDecide(b *Browser, page *Resp, ru, decision string) url.Values {
	e.t.Helper()
	form := url.Values{"csrf_token": {FormField(e.t, page, csrfRe)}, "request": {FormField(e.t, page, consentRequestRe)},
		"user": {FormField(e.t, page, consentUserRe)}, "decision": {decision}}
	r := b.Go(http.MethodPost, e.Issuer+"/authorize/consent", form, func(u *url.URL) bool {
		return strings.HasPrefix(u.String(), ru)
	})
	loc := r.Header.Get("Location")
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, ru+"?") {
		e.t.Fatalf("consent %s: expected a redirect to %s, got %s (Location %q, hops %v)", decision, ru, r, loc, r.Hops)
	}
	return r.Location(e.t).Query()
}

// consentCode runs the code flow through the consent page (Allow) and returns the code and
// the PKCE verifier.
func (e *Env) consentCode(b *Browser, clientID, ru, scope string) (string, string) {
	e.t.Helper()
	params, verifier := AuthParams(clientID, ru, scope)
	q := e.consentDecide(b, e.consentPage(b, params), ru, "allow")
	if q.Get("code") == "" || q.Get("state") != params.Get("state") {
		e.t.Fatalf("after Allow: %v, want a code and state %q", q, params.Get("state"))
	}
	return q.Get("code"), verifier
}

// TestDynamicRegistrationConsent — the attack RFC 6819 §4.2.2 describes ("Malicious client
// obtains existing authorization by fraud") against `registration open` and real Caddy:
// whoever holds the initial access token registers a client whose redirect URI they own and
// sends a logged-in user a link to /authorize. RFC 7591 §5: "the authorization server MUST
// treat all client metadata as self-asserted" and "can also present warning messages to end
// users about dynamically registered clients in all cases"; OIDC Core §3.1.2.4: "the
// Authorization Server obtains an authorization decision". So the user sees the consent page
// naming the client, warning that it registered itself and naming the host the answer goes
// to, and no code leaves before Allow — also when the registration says
// "consent_required": false; prompt=none answers consent_required (OC-09, OIDC Core
// §3.1.2.6); a decision without the page's CSRF token is refused (PX-24); Deny answers
// access_denied (RFC 6749 §4.1.2.1); Allow gives a code that the token endpoint takes. An
// RFC 7592 update that tries to clear the consent keeps it: a wider scope asks again.
func TestDynamicRegistrationConsent(t *testing.T) {
	const iat = "e2e-consent-initial-access-token-0123456789"
	t.Setenv("GH_E2E_CONSENT_IAT", iat)
	e := Start(t, Config{Gatehouse: `
		registration open {
			initial_access_token {env.GH_E2E_CONSENT_IAT}
		}`})
	ru := e.RP + "/attacker-cb"
	r := e.register(map[string]any{"redirect_uris": []string{ru}, "token_endpoint_auth_method": "none",
		"client_name": "Harmless Helper", "consent_required": false, "consent": "none"}, iat)
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %s", r)
	}
	reg := r.JSON(t)
	id, _ := reg["client_id"].(string)
	regToken, _ := reg["registration_access_token"].(string)
	regURI, _ := reg["registration_client_uri"].(string)

	const victim = "victim@example.test"
	e.CreateUser(victim)
	b := NewBrowser(t)
	e.PortalLogin(b, victim, Password)

	// The link the attacker sends: the consent page, no code.
	params, _ := AuthParams(id, ru, "openid email")
	page := e.consentPage(b, params)
	// RFC 7591 §5: the page warns that the client registered itself and names the host
	// the answer goes to.
	rpHost := strings.TrimPrefix(e.RP, "http://")
	for _, want := range []string{"Harmless Helper", victim, "Your email address", "data-registered", "registered itself", rpHost} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("consent page lacks %q:\n%s", want, truncate(string(page.Body), 3000))
		}
	}
	// prompt=none cannot ask: consent_required, no code.
	silent, _ := AuthParams(id, ru, "openid email")
	silent.Set("prompt", "none")
	if q := e.Authorize(b, silent); q.Get("error") != "consent_required" || q.Get("code") != "" {
		t.Errorf("prompt=none before consent: %v, want error=consent_required", q)
	}
	// PX-24: an Allow without the page's CSRF token is refused, and gives no code.
	forged := url.Values{"request": {FormField(t, page, consentRequestRe)}, "user": {FormField(t, page, consentUserRe)}, "decision": {"allow"}}
	if f := b.Do(http.MethodPost, e.Issuer+"/authorize/consent", forged); f.Status != http.StatusForbidden {
		t.Errorf("allow without a CSRF token: %s, want 403", f)
	}
	// Deny: access_denied with the state, no code; the next visit asks again.
	if q := e.consentDecide(b, page, ru, "deny"); q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != params.Get("state") {
		t.Errorf("after Deny: %v, want error=access_denied and the state", q)
	}
	// Allow: a code the token endpoint exchanges.
	code, verifier := e.consentCode(b, id, ru, "openid email")
	tok := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ru},
		"client_id": {id}, "code_verifier": {verifier}})
	if tok.Status != http.StatusOK || tok.JSON(t)["access_token"] == nil {
		t.Fatalf("token after Allow: %s", tok)
	}

	// RFC 7592 §2.2: the client rewrites its registration, trying to drop the consent.
	meta := e.registration(http.MethodGet, regURI, regToken, nil).JSON(t)
	delete(meta, "registration_access_token")
	delete(meta, "registration_client_uri")
	meta["client_name"] = "Renamed Helper"
	meta["consent_required"] = false
	if p := e.registration(http.MethodPut, regURI, regToken, meta); p.Status != http.StatusOK {
		t.Fatalf("update registration: %s", p)
	}
	wider, _ := AuthParams(id, ru, "openid email profile")
	if page := e.consentPage(b, wider); !strings.Contains(string(page.Body), "Renamed Helper") {
		t.Errorf("consent page after the update does not name the client:\n%s", truncate(string(page.Body), 3000))
	}
}
