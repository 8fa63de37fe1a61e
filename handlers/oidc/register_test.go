package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// newRegEnv is newEnv with dynamic client registration on.
func newRegEnv(t *testing.T, mode, initialToken string) *env {
	t.Helper()
	e := newEnv(t)
	e.P.OAuth.Registration = oauth.Registration{Mode: mode, InitialAccessToken: initialToken}
	h := *e.h
	h.Registration = e.P.OAuth
	e.h, e.mux = &h, http.NewServeMux()
	e.h.Mount(e.mux)
	return e
}

func (e *env) regRequest(method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(r)
}

func jsonBody(t *testing.T, w *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("not JSON: %q", w.Body)
	}
	return out
}

func discoveryOf(t *testing.T, e *env) map[string]any {
	return decode(t, e.do(httptest.NewRequest(http.MethodGet, PathDiscovery, nil)))
}

// OIDC Discovery §3 / RFC 8414 §2: registration_endpoint is advertised when registration is
// on, and only then (off by default: no endpoint either).
func TestRegistrationEndpointAdvertisedOnlyWhenOn(t *testing.T) {
	off := newEnv(t)
	if _, ok := discoveryOf(t, off)["registration_endpoint"]; ok {
		t.Error("registration_endpoint advertised while registration is off")
	}
	if w := off.regRequest(http.MethodPost, PathRegister, "", `{"redirect_uris":["https://rp.test/cb"]}`); w.Code != http.StatusNotFound {
		t.Errorf("POST /register while off: %d", w.Code)
	}
	on := newRegEnv(t, oauth.RegistrationOpen, "iat-secret-value")
	if got := discoveryOf(t, on)["registration_endpoint"]; got != idptest.Issuer+PathRegister {
		t.Errorf("registration_endpoint %v", got)
	}
	// RFC 8414 §3: the authorization server metadata at /.well-known/oauth-authorization-server
	// is the same document, its issuer the issuer (§3.3).
	as := decode(t, on.do(httptest.NewRequest(http.MethodGet, PathASMetadata, nil)))
	if as["issuer"] != idptest.Issuer || as["registration_endpoint"] != idptest.Issuer+PathRegister || as["token_endpoint"] == nil {
		t.Errorf("RFC 8414 metadata %v", as)
	}
}

// RFC 7591 §3.1/§3.2.1: a registration answers 201 with client_id, client_secret,
// client_id_issued_at, client_secret_expires_at 0, the registration access token and the
// client configuration endpoint (RFC 7592 §3), and the registered metadata. §2: metadata
// the server does not understand is ignored.
func TestRegisterAnswersClientInformation(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationOpen, "iat-secret-value")
	out := jsonBody(t, e.regRequest(http.MethodPost, PathRegister, "iat-secret-value",
		`{"redirect_uris":["https://rp.test/cb"],"client_name":"RP","jwks_uri":"https://rp.test/jwks","x-unknown":{"a":[1,2]}}`), http.StatusCreated)
	id, _ := out["client_id"].(string)
	if id == "" || out["client_secret"] == "" || out["client_secret_expires_at"] != float64(0) || out["client_id_issued_at"] == nil ||
		out["registration_access_token"] == "" || out["registration_client_uri"] != idptest.Issuer+PathRegister+"/"+id ||
		out["token_endpoint_auth_method"] != "client_secret_basic" || out["client_name"] != "RP" {
		t.Fatalf("answer %v", out)
	}
	if _, ok := out["jwks_uri"]; ok {
		t.Error("unknown metadata echoed (and so stored)")
	}
	// The secret works at the token endpoint at once (open mode).
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"unknown"}, "redirect_uri": {"https://rp.test/cb"}}
	oauthError(t, e.post(PathToken, form, id, out["client_secret"].(string)), http.StatusBadRequest, codeInvalidGrant)
}

// CR-05: RFC 7591 §3 (initial access token) and RFC 6750 §3.1: without it, or with a wrong one,
// the answer is 401 invalid_token with a Bearer challenge.
func TestRegisterNeedsInitialAccessToken(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationOpen, "iat-secret-value")
	body := `{"redirect_uris":["https://rp.test/cb"]}`
	for _, tok := range []string{"", "wrong"} {
		w := e.regRequest(http.MethodPost, PathRegister, tok, body)
		oauthError(t, w, http.StatusUnauthorized, codeInvalidToken)
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("token %q: no Bearer challenge", tok)
		}
	}
	r := httptest.NewRequest(http.MethodPost, PathRegister, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Basic eDp5")
	oauthError(t, e.do(r), http.StatusBadRequest, codeInvalidRequest)
}

// AS-02, AS-12: RFC 7591 §3.2.2: invalid_redirect_uri and invalid_client_metadata, 400, naming the field;
// the body must be a JSON object (§3.1).
func TestRegisterErrors(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationOpen, "")
	for body, code := range map[string]string{
		`{"redirect_uris":["javascript:alert(1)"]}`:                                codeInvalidRedirectURI,
		`{"redirect_uris":["http://rp.test/cb"]}`:                                  codeInvalidRedirectURI,
		`{"redirect_uris":["https://rp.test/cb#x"]}`:                               codeInvalidRedirectURI,
		`{"redirect_uris":"https://rp.test/cb"}`:                                   codeInvalidClientMetadata,
		`{"redirect_uris":["https://rp.test/cb"],"response_types":["id_token"]}`:   codeInvalidClientMetadata,
		`{"redirect_uris":["https://rp.test/cb"],"scope":"openid admin"}`:          codeInvalidClientMetadata,
		`{"redirect_uris":["https://rp.test/cb"],"grant_types":["refresh_token"]}`: codeInvalidClientMetadata,
		`not json`: codeInvalidClientMetadata,
		`[]`:       codeInvalidClientMetadata,
	} {
		out := oauthError(t, e.regRequest(http.MethodPost, PathRegister, "", body), http.StatusBadRequest, code)
		if code == codeInvalidRedirectURI && !strings.Contains(out["error_description"], "redirect_uris[0]") {
			t.Errorf("%s: description %q does not name the field", body, out["error_description"])
		}
	}
	out := oauthError(t, e.regRequest(http.MethodPost, PathRegister, "", `{"redirect_uris":"https://rp.test/cb"}`), http.StatusBadRequest, codeInvalidClientMetadata)
	if !strings.Contains(out["error_description"], "redirect_uris") {
		t.Errorf("wrong type: %q", out["error_description"])
	}
	r := httptest.NewRequest(http.MethodPost, PathRegister, strings.NewReader(`redirect_uris=https://rp.test/cb`))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	oauthError(t, e.do(r), http.StatusBadRequest, codeInvalidClientMetadata)
	big := `{"client_name":"` + strings.Repeat("x", maxRegistrationBody) + `"}`
	oauthError(t, e.regRequest(http.MethodPost, PathRegister, "", big), http.StatusBadRequest, codeInvalidClientMetadata)
}

// RFC 7592 §2.1-2.3: GET reads, PUT replaces, DELETE deletes the registration with the
// registration access token; a wrong token is 401 invalid_token, and after the deletion the
// token and the client are gone.
func TestClientConfigurationEndpoint(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationOpen, "")
	out := jsonBody(t, e.regRequest(http.MethodPost, PathRegister, "",
		`{"redirect_uris":["https://spa.test/cb"],"token_endpoint_auth_method":"none","client_name":"SPA"}`), http.StatusCreated)
	if _, ok := out["client_secret"]; ok {
		t.Error("a public client got a secret")
	}
	id, tok := out["client_id"].(string), out["registration_access_token"].(string)
	path := PathRegister + "/" + id
	got := jsonBody(t, e.regRequest(http.MethodGet, path, tok, ""), http.StatusOK)
	if got["client_name"] != "SPA" || got["registration_access_token"] != tok || got["token_endpoint_auth_method"] != "none" {
		t.Errorf("read %v", got)
	}
	oauthError(t, e.regRequest(http.MethodGet, path, tok+"x", ""), http.StatusUnauthorized, codeInvalidToken)
	oauthError(t, e.regRequest(http.MethodGet, path, "", ""), http.StatusUnauthorized, codeInvalidToken)
	oauthError(t, e.regRequest(http.MethodGet, PathRegister+"/web", tok, ""), http.StatusUnauthorized, codeInvalidToken)

	upd := `{"client_id":"` + id + `","redirect_uris":["https://spa.test/cb","https://spa.test/cb2"],"token_endpoint_auth_method":"none","client_name":"SPA 2"}`
	got = jsonBody(t, e.regRequest(http.MethodPut, path, tok, upd), http.StatusOK)
	if got["client_name"] != "SPA 2" || len(got["redirect_uris"].([]any)) != 2 {
		t.Errorf("updated %v", got)
	}
	oauthError(t, e.regRequest(http.MethodPut, path, tok, `{"client_id":"other","redirect_uris":["https://spa.test/cb"],"token_endpoint_auth_method":"none"}`),
		http.StatusBadRequest, codeInvalidClientMetadata)
	oauthError(t, e.regRequest(http.MethodPut, path, tok, `{"client_id":"`+id+`","redirect_uris":["http://spa.test/cb"],"token_endpoint_auth_method":"none"}`),
		http.StatusBadRequest, codeInvalidRedirectURI)
	oauthError(t, e.regRequest(http.MethodDelete, path, "wrong", ""), http.StatusUnauthorized, codeInvalidToken)
	if w := e.regRequest(http.MethodDelete, path, tok, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	oauthError(t, e.regRequest(http.MethodGet, path, tok, ""), http.StatusUnauthorized, codeInvalidToken)
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {id}}, "", ""),
		http.StatusUnauthorized, codeInvalidClient)
}

// AS-03, AS-09: approval mode: the registered client is refused at /authorize (an error page, no redirect
// to its URI) and at /token until approved; then the code flow with PKCE works, through the
// consent page.
func TestPendingClientRefusedUntilApproved(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationApproval, "")
	out := jsonBody(t, e.regRequest(http.MethodPost, PathRegister, "",
		`{"redirect_uris":["https://spa.test/cb"],"token_endpoint_auth_method":"none"}`), http.StatusCreated)
	id := out["client_id"].(string)
	if out["approval_pending"] != true {
		t.Errorf("answer does not say approval is pending: %v", out)
	}
	v, ch := idptest.PKCE()
	q := idptest.AuthQuery(id, "https://spa.test/cb", ch, "openid")
	w := e.do(e.loggedIn(PathAuthorize + "?" + q.Encode()))
	if w.Code == http.StatusFound || !strings.Contains(w.Body.String(), "approval") {
		t.Fatalf("pending client at /authorize: %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {id}}, "", ""),
		http.StatusUnauthorized, codeInvalidClient)
	if _, err := e.P.OAuth.ApproveClient(e.Ctx, id); err != nil {
		t.Fatal(err)
	}
	// A registered client is a third party: the consent page comes first; Allow gives the code.
	b := newBrowser(e)
	allow := b.decide(t, b.get(PathAuthorize+"?"+q.Encode()), "allow")
	code := redirectParams(t, b.get(allow.Header().Get("Location"))).Get("code")
	tok := decode(t, e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {id},
		"redirect_uri": {"https://spa.test/cb"}, "code_verifier": {v}}, "", ""))
	if tok["access_token"] == nil || tok["id_token"] == nil {
		t.Errorf("tokens %v", tok)
	}
	// PKCE is forced for the registered public client.
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	if loc := redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode()))); loc.Get("error") != codeInvalidRequest {
		t.Errorf("without PKCE: %v", loc)
	}
}

// Attack: the registrant of a client an administrator disabled re-PUTs its metadata to get
// it working again. RFC 7592 §2.1: "If the client does not have permission to read its
// record, the server MUST return an HTTP 403 Forbidden"; RFC 6750 §3.1: insufficient_scope
// is 403 with the Bearer challenge. GET, PUT and DELETE are refused and the client stays
// unknown to the token endpoint.
func TestDisabledClientConfigurationRefused(t *testing.T) {
	e := newRegEnv(t, oauth.RegistrationOpen, "")
	out := jsonBody(t, e.regRequest(http.MethodPost, PathRegister, "",
		`{"redirect_uris":["https://spa.test/cb"],"token_endpoint_auth_method":"none","client_name":"SPA"}`), http.StatusCreated)
	id, tok := out["client_id"].(string), out["registration_access_token"].(string)
	path := PathRegister + "/" + id
	if _, err := e.P.OAuth.SetClientDisabled(e.Ctx, id, true); err != nil {
		t.Fatal(err)
	}
	upd := `{"client_id":"` + id + `","redirect_uris":["https://spa.test/cb"],"token_endpoint_auth_method":"none","client_name":"SPA 2"}`
	w := e.regRequest(http.MethodPut, path, tok, upd)
	oauthError(t, w, http.StatusForbidden, codeInsufficientScope)
	if !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("403 without the Bearer challenge: %q", w.Header().Get("WWW-Authenticate"))
	}
	oauthError(t, e.regRequest(http.MethodGet, path, tok, ""), http.StatusForbidden, codeInsufficientScope)
	oauthError(t, e.regRequest(http.MethodDelete, path, tok, ""), http.StatusForbidden, codeInsufficientScope)
	oauthError(t, e.regRequest(http.MethodGet, path, tok+"x", ""), http.StatusUnauthorized, codeInvalidToken)
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {id}}, "", ""),
		http.StatusUnauthorized, codeInvalidClient)
}
