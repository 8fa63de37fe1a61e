package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// adminV1 is the Administration API of a running portal whose Caddyfile declares the
// client "automation" allowed gatehouse:admin.
type adminV1 struct {
	t   *testing.T
	e   *Env
	api string
	tok string
}

const adminV1Caddyfile = `
		client automation {
			secret automation-secret-0123456789
			grant_types client_credentials
			scopes gatehouse:admin
			resource {{.Issuer}}/api/admin/v1
		}`

func startAdminV1(t *testing.T) *adminV1 {
	e := Start(t, Config{Gatehouse: adminV1Caddyfile})
	a := &adminV1{t: t, e: e, api: e.Issuer + "/api/admin/v1"}
	r := a.token("automation", "automation-secret-0123456789", "gatehouse:admin")
	if r.Status != http.StatusOK {
		t.Fatalf("client_credentials for automation: %s", r)
	}
	a.tok = r.JSON(t)["access_token"].(string)
	return a
}

// token runs the client_credentials grant at the token endpoint, with the API as resource.
func (a *adminV1) token(client, secret, scope string) *Resp {
	a.t.Helper()
	return a.e.Token(url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": {a.api}}, client, secret)
}

func (a *adminV1) call(bearer, method, path string, body any) *Resp {
	a.t.Helper()
	req := NewRequest(a.t, method, a.api+path, body)
	req.Header.Set("Authorization", "Bearer "+bearer)
	return Do(a.t, API, req)
}

// Issue 18: "Callers authenticate with an access token from the client_credentials grant
// carrying the scope gatehouse:admin (machine automation)". A client created through the
// API with "admin": true gets that token at the real token endpoint and administers; a
// stored client without it gets invalid_scope (RFC 6749 §5.2); disabling the client or
// rotating its secret stops the old credentials.
func TestAdminV1StoredAdminClient(t *testing.T) {
	a := startAdminV1(t)
	r := a.call(a.tok, http.MethodPost, "/clients", map[string]any{"name": "Robot", "grant_types": []string{"client_credentials"},
		"scopes": []string{"read"}, "admin": true})
	if r.Status != http.StatusCreated || r.JSON(t)["admin"] != true {
		t.Fatalf("create an admin client: %s", r)
	}
	id, sec := r.JSON(t)["id"].(string), r.JSON(t)["secret"].(string)
	tr := a.token(id, sec, "gatehouse:admin")
	if tr.Status != http.StatusOK {
		t.Fatalf("the stored admin client's token: %s", tr)
	}
	tok := tr.JSON(t)["access_token"].(string)
	if r := a.call(tok, http.MethodGet, "/users", nil); r.Status != http.StatusOK {
		t.Fatalf("GET /users with the stored client's token: %s", r)
	}

	// RFC 6749 §5.2: "invalid_scope: The requested scope is invalid, unknown, malformed,
	// or exceeds the scope granted by the resource owner."
	r = a.call(a.tok, http.MethodPost, "/clients", map[string]any{"name": "Plain", "grant_types": []string{"client_credentials"}, "scopes": []string{"read"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create a plain client: %s", r)
	}
	if tr := a.token(r.JSON(t)["id"].(string), r.JSON(t)["secret"].(string), "gatehouse:admin"); tr.Status != http.StatusBadRequest ||
		tr.JSON(t)["error"] != "invalid_scope" {
		t.Fatalf("a stored client without admin: %s, want 400 invalid_scope", tr)
	}
	// A public client never gets it (400 naming the field).
	r = a.call(a.tok, http.MethodPost, "/clients", map[string]any{"name": "SPA", "public": true, "redirect_uris": []string{"https://spa.example.com/cb"}, "admin": true})
	if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "admin" {
		t.Fatalf("a public admin client: %s", r)
	}

	// Rotation: the old secret gets nothing, the old token administers no more.
	r = a.call(a.tok, http.MethodPost, "/clients/"+id+"/secret", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("rotate: %s", r)
	}
	newSec := r.JSON(t)["secret"].(string)
	if tr := a.token(id, sec, "gatehouse:admin"); tr.Status != http.StatusUnauthorized {
		t.Fatalf("the old secret after rotation: %s, want 401 invalid_client", tr)
	}
	if r := a.call(tok, http.MethodGet, "/users", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("a token of the old secret after rotation: %s", r)
	}

	// Disabling: neither the secret nor a token works.
	r = a.call(a.tok, http.MethodPost, "/clients/"+id+"/disable", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("disable: %s", r)
	}
	if tr := a.token(id, newSec, "gatehouse:admin"); tr.Status != http.StatusUnauthorized {
		t.Fatalf("a disabled client's secret: %s, want 401", tr)
	}
}

// Issue 18: "Users: create (with or without a password; send an invitation or a recovery
// code)". The code the API answers once works once in the portal's recovery flow: the
// person opens the link, enters the code, and sets a password; a second use fails.
func TestAdminV1CreateUserRecoveryCode(t *testing.T) {
	a := startAdminV1(t)
	r := a.call(a.tok, http.MethodPost, "/users", map[string]any{"email": "handed@example.com", "recovery": "code"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	body := r.JSON(t)
	id := body["id"].(string)
	rec, _ := body["recovery"].(map[string]any)
	link, _ := rec["url"].(string)
	code, _ := rec["code"].(string)
	if !strings.HasPrefix(link, a.e.Issuer+"/recover/code?flow=") || len(code) != 6 {
		t.Fatalf("recovery %v", rec)
	}
	if r := a.call(a.tok, http.MethodGet, "/users/"+id, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), code) ||
		strings.Contains(string(r.Body), "recover/code") {
		t.Fatalf("GET shows the recovery code again: %s", r)
	}

	// The link's page names the account (masked) and keeps the flow in its form, not in a
	// cookie (a cross-site GET must not plant a flow: login CSRF); the code goes with the
	// form.
	verify := func(b *Browser) *Resp {
		page := b.Go(http.MethodGet, link, nil, nil)
		if page.Status != http.StatusOK {
			return page
		}
		if !strings.Contains(string(page.Body), `action="/recover/verify"`) || !strings.Contains(string(page.Body), "h***@example.com") {
			t.Fatalf("the recovery link: %s (at %s)", page, page.URL)
		}
		for _, c := range b.Jar.Cookies(page.URL) {
			if strings.Contains(c.Name, "otp") {
				t.Fatalf("the recovery link set the flow cookie %s", c.Name)
			}
		}
		form := url.Values{"csrf_token": {FormField(t, page, csrfRe)}, "return_to": {""}, "code": {code},
			"flow": {FormField(t, page, regexp.MustCompile(`name="flow" value="([^"]*)"`))}}
		return b.Go(http.MethodPost, a.e.Issuer+"/recover/verify", form, nil)
	}
	b := NewBrowser(t)
	if r := verify(b); r.Status != http.StatusOK || !strings.HasPrefix(r.URL.Path, "/account/password") {
		t.Fatalf("recover with the code: %s (at %s)", r, r.URL)
	}
	req := NewRequest(t, http.MethodPost, a.e.Issuer+"/api/v1/account/password", map[string]string{"password": "handed's own passphrase"})
	if r := Do(t, b.C, req); r.Status != http.StatusNoContent {
		t.Fatalf("set a password after recovery: %s", r)
	}
	// The password works; the code does not a second time.
	login := NewRequest(t, http.MethodPost, a.e.Issuer+"/api/v1/login/password", map[string]string{"email": "handed@example.com", "password": "handed's own passphrase"})
	if r := Do(t, NewBrowser(t).C, login); r.Status != http.StatusOK {
		t.Fatalf("log in with the new password: %s", r)
	}
	again := NewBrowser(t)
	if r := verify(again); r.Status == http.StatusOK {
		t.Fatalf("the code worked a second time: %s", r)
	}
}
