package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// register posts client metadata to /register with an optional initial access token.
func (e *Env) register(meta map[string]any, token string) *Resp {
	e.t.Helper()
	req := NewRequest(e.t, http.MethodPost, e.Issuer+"/register", meta)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return Do(e.t, API, req)
}

// registration calls the client configuration endpoint (RFC 7592) with a registration
// access token.
func (e *Env) registration(method, uri, token string, body any) *Resp {
	e.t.Helper()
	req := NewRequest(e.t, method, uri, body)
	req.Header.Set("Authorization", "Bearer "+token)
	return Do(e.t, API, req)
}

func wantOAuthError(t *testing.T, r *Resp, status int, code string) {
	t.Helper()
	if r.Status != status || r.JSON(t)["error"] != code {
		t.Fatalf("got %s, want %d %s", r, status, code)
	}
}

// TestDynamicRegistrationApproval (AS-02, AS-03, AS-09): `registration approval` against real Caddy. Discovery
// advertises the registration endpoint (RFC 8414 §2); a public client registers (RFC 7591
// §3.1, token_endpoint_auth_method none) and is refused at /authorize (an error page, no
// redirect) and /token until an administrator approves it through the admin API, the CLI
// listing it as pending; then the code flow with PKCE, refresh, userinfo and CORS from its
// redirect URI's origin work, after the consent page (a registered client is a third party).
// Bad redirect URIs get 400 invalid_redirect_uri (§3.2.2).
// RFC 7592: the registration access token reads and updates the registration (a wrong one
// is 401) and deletes it, after which the client's refresh token no longer works.
func TestDynamicRegistrationApproval(t *testing.T) {
	e := Start(t, Config{Gatehouse: `
		registration approval`})
	disc := Get(t, e.Issuer+"/.well-known/openid-configuration", "").JSON(t)
	if disc["registration_endpoint"] != e.Issuer+"/register" {
		t.Fatalf("registration_endpoint %v", disc["registration_endpoint"])
	}
	// RFC 8414 §3: the authorization server metadata, where MCP-style clients look.
	if as := Get(t, e.Issuer+"/.well-known/oauth-authorization-server", "").JSON(t); as["registration_endpoint"] != e.Issuer+"/register" ||
		as["issuer"] != e.Issuer {
		t.Fatalf("RFC 8414 metadata %v", as)
	}
	e.CreateUser("dcr@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "dcr@example.test", Password)

	ru := e.RP + "/dcr-cb"
	for _, bad := range []string{"javascript:alert(1)", "http://evil.example/cb", ru + "#frag"} {
		wantOAuthError(t, e.register(map[string]any{"redirect_uris": []string{bad}, "token_endpoint_auth_method": "none"}, ""),
			http.StatusBadRequest, "invalid_redirect_uri")
	}
	wantOAuthError(t, e.register(map[string]any{"redirect_uris": []string{ru}, "response_types": []string{"token"}}, ""),
		http.StatusBadRequest, "invalid_client_metadata")

	r := e.register(map[string]any{"redirect_uris": []string{ru}, "token_endpoint_auth_method": "none", "client_name": "Registered SPA",
		"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "openid profile email offline_access",
		"software_statement": "ignored"}, "")
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %s", r)
	}
	reg := r.JSON(t)
	id, _ := reg["client_id"].(string)
	regToken, _ := reg["registration_access_token"].(string)
	regURI, _ := reg["registration_client_uri"].(string)
	if id == "" || regToken == "" || regURI != e.Issuer+"/register/"+id || reg["approval_pending"] != true || reg["client_secret"] != nil {
		t.Fatalf("registration answer %v", reg)
	}

	// Pending: refused at /authorize (no redirect to the client) and at /token.
	params, _ := AuthParams(id, ru, "openid")
	page := b.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, StopAt(e.RP))
	if page.Status == http.StatusFound || !strings.Contains(string(page.Body), "approval") {
		t.Fatalf("pending client at /authorize: %s", page)
	}
	wantOAuthError(t, e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {ru}, "client_id": {id}}),
		http.StatusUnauthorized, "invalid_client")
	out, err := runCLI(t, "", "client", "list", "--pending", "--address", e.AdminAddr)
	if err != nil || !strings.Contains(out, id) {
		t.Fatalf("client list --pending: %v\n%s", err, out)
	}

	// Approved through the admin API on Caddy's admin endpoint.
	if a := e.Admin(http.MethodPost, "/gatehouse/clients/"+id+"/approve", nil); a.Status != http.StatusOK {
		t.Fatalf("approve: %s", a)
	}
	if out, err := runCLI(t, "", "client", "list", "--pending", "--address", e.AdminAddr); err != nil || strings.Contains(out, id) {
		t.Fatalf("still pending after approval: %v\n%s", err, out)
	}
	// A registered client is a third party: the user is asked first (consent page, Allow).
	code, verifier := e.consentCode(b, id, ru, "openid profile email offline_access")
	tr := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ru},
		"client_id": {id}, "code_verifier": {verifier}})
	if tr.Status != http.StatusOK {
		t.Fatalf("token: %s", tr)
	}
	tok := tr.JSON(t)
	at, _ := tok["access_token"].(string)
	rt, _ := tok["refresh_token"].(string)
	if at == "" || rt == "" || tok["id_token"] == nil {
		t.Fatalf("tokens %v", tok)
	}
	if u := e.Userinfo(at); u.Status != http.StatusOK || u.JSON(t)["email"] != "dcr@example.test" {
		t.Fatalf("userinfo: %s", u)
	}
	// PKCE is forced for the registered public client (RFC 9700 §2.1.1).
	noPKCE, _ := AuthParams(id, ru, "openid")
	noPKCE.Del("code_challenge")
	noPKCE.Del("code_challenge_method")
	if q := e.Authorize(b, noPKCE); q.Get("error") != "invalid_request" {
		t.Errorf("without PKCE: %v", q)
	}
	// CORS: the registered redirect URI's origin may read /token's answers.
	pre := NewRequest(t, http.MethodOptions, e.Issuer+"/token", nil)
	pre.Header.Set("Origin", e.RP)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if p := Do(t, API, pre); p.Header.Get("Access-Control-Allow-Origin") != e.RP {
		t.Errorf("preflight from the registered origin: %s %v", p, p.Header)
	}
	refreshed := e.Refresh(id, rt)
	if refreshed.Status != http.StatusOK {
		t.Fatalf("refresh: %s", refreshed)
	}
	rt = refreshed.JSON(t)["refresh_token"].(string)

	// RFC 7592 §2.1/§2.2: read and update with the registration access token.
	if g := e.registration(http.MethodGet, regURI, regToken+"x", nil); g.Status != http.StatusUnauthorized ||
		!strings.HasPrefix(g.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("wrong registration token: %s", g)
	}
	g := e.registration(http.MethodGet, regURI, regToken, nil)
	if g.Status != http.StatusOK || g.JSON(t)["client_name"] != "Registered SPA" {
		t.Fatalf("read registration: %s", g)
	}
	meta := g.JSON(t)
	meta["client_name"] = "Renamed SPA"
	delete(meta, "registration_access_token")
	delete(meta, "registration_client_uri")
	if p := e.registration(http.MethodPut, regURI, regToken, meta); p.Status != http.StatusOK || p.JSON(t)["client_name"] != "Renamed SPA" {
		t.Fatalf("update registration: %s", p)
	}
	meta["redirect_uris"] = []string{"http://evil.example/cb"}
	wantOAuthError(t, e.registration(http.MethodPut, regURI, regToken, meta), http.StatusBadRequest, "invalid_redirect_uri")

	// RFC 7592 §2.3: deleted; the token and the client are gone.
	if d := e.registration(http.MethodDelete, regURI, regToken, nil); d.Status != http.StatusNoContent {
		t.Fatalf("delete registration: %s", d)
	}
	wantOAuthError(t, e.registration(http.MethodGet, regURI, regToken, nil), http.StatusUnauthorized, "invalid_token")
	wantOAuthError(t, e.Refresh(id, rt), http.StatusUnauthorized, "invalid_client")
}

// TestDynamicRegistrationOpen (CR-05): `registration open` with an initial access token (RFC 7591
// §3): without it or with a wrong one the endpoint answers 401 invalid_token; with it, a
// confidential client registers and works at once (after the user allows it on the consent
// page), driven by golang.org/x/oauth2 with the issued secret (client_secret_basic) and PKCE.
func TestDynamicRegistrationOpen(t *testing.T) {
	const iat = "e2e-initial-access-token-0123456789abcdef"
	t.Setenv("GH_E2E_INITIAL_ACCESS_TOKEN", iat)
	e := Start(t, Config{Gatehouse: `
		registration open {
			initial_access_token {env.GH_E2E_INITIAL_ACCESS_TOKEN}
		}`})
	ru := e.RP + "/rp-cb"
	meta := map[string]any{"redirect_uris": []string{ru}, "client_name": "Server-side RP"}
	for _, tok := range []string{"", "wrong-token"} {
		r := e.register(meta, tok)
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q: no Bearer challenge: %v", tok, r.Header)
		}
	}
	r := e.register(meta, iat)
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %s", r)
	}
	reg := r.JSON(t)
	id, _ := reg["client_id"].(string)
	sec, _ := reg["client_secret"].(string)
	if id == "" || sec == "" || reg["client_secret_expires_at"] != float64(0) || reg["approval_pending"] != nil {
		t.Fatalf("registration answer %v", reg)
	}

	e.CreateUser("rp@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "rp@example.test", Password)
	conf := &oauth2.Config{ClientID: id, ClientSecret: sec, RedirectURL: ru, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: e.Issuer + "/authorize", TokenURL: e.Issuer + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	// The registered client is a third party: the consent page comes first, then Allow.
	authURL, _ := url.Parse(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	q := e.consentDecide(b, e.consentPage(b, authURL.Query()), ru, "allow")
	if q.Get("code") == "" || q.Get("state") != "state-1" {
		t.Fatalf("authorization response %v", q)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, API)
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange with the registered client: %v", err)
	}
	if u := e.Userinfo(tok.AccessToken); u.Status != http.StatusOK || u.JSON(t)["email"] != "rp@example.test" {
		t.Fatalf("userinfo: %s", u)
	}
	wrong := *conf
	wrong.ClientSecret = sec + "x"
	// The consent is remembered: this time the code comes without the page.
	resp := b.Go(http.MethodGet, wrong.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier)), nil, StopAt(e.RP))
	if _, err := wrong.Exchange(ctx, resp.Location(t).Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil ||
		!strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("a wrong secret: %v", err)
	}
}
