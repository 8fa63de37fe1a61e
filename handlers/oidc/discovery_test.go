package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// OIDC Discovery §3 and §4.3: the issuer value is identical to the issuer the metadata was
// requested for, and the metadata advertises only what the endpoints implement: every
// endpoint is served at the advertised URL, every advertised grant type is accepted by the
// token endpoint (not unsupported_grant_type), only response_type code and PKCE S256 are
// advertised since only they are accepted, and every advertised token endpoint
// authentication method works.
func TestDiscoveryMatchesEndpoints(t *testing.T) {
	e := newEnv(t)
	w := e.do(httptest.NewRequest(http.MethodGet, PathDiscovery, nil))
	if ct := w.Header().Get("Content-Type"); w.Code != http.StatusOK || ct != "application/json" {
		t.Fatalf("discovery: %d %q", w.Code, ct)
	}
	var d Discovery
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != idptest.Issuer {
		t.Fatalf("issuer %q, want %q", d.Issuer, idptest.Issuer)
	}
	for name, ep := range map[string]string{"authorization": d.AuthorizationEndpoint, "token": d.TokenEndpoint,
		"userinfo": d.UserinfoEndpoint, "jwks": d.JWKSURI, "revocation": d.RevocationEndpoint, "introspection": d.IntrospectionEndpoint} {
		path, ok := strings.CutPrefix(ep, idptest.Issuer)
		if !ok {
			t.Fatalf("%s endpoint %q is not under the issuer", name, ep)
		}
		if w := e.do(httptest.NewRequest(http.MethodGet, path, nil)); w.Code == http.StatusNotFound {
			t.Errorf("%s endpoint %s is advertised but not served", name, path)
		}
	}
	for _, g := range d.GrantTypesSupported {
		w := e.post(PathToken, url.Values{"grant_type": {g}}, "web", idptest.WebSecret)
		var out map[string]string
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		if out["error"] == codeUnsupportedGrantType {
			t.Errorf("advertised grant type %s is unsupported", g)
		}
	}
	if !slices.Equal(d.ResponseTypesSupported, []string{"code"}) || !slices.Equal(d.CodeChallengeMethodsSupported, []string{"S256"}) ||
		!slices.Equal(d.ResponseModesSupported, []string{"query"}) {
		t.Errorf("response types %v, modes %v, PKCE methods %v", d.ResponseTypesSupported, d.ResponseModesSupported, d.CodeChallengeMethodsSupported)
	}
	if !d.AuthorizationResponseIssParameter || d.RequestParameterSupported || d.RequestURIParameterSupported {
		t.Errorf("iss parameter %v, request %v, request_uri %v", d.AuthorizationResponseIssParameter, d.RequestParameterSupported, d.RequestURIParameterSupported)
	}
	for _, m := range d.TokenEndpointAuthMethodsSupported {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}
		id, secret := "", ""
		switch m {
		case "client_secret_basic":
			id, secret = "web", idptest.WebSecret
		case "client_secret_post":
			form.Set("client_id", "web")
			form.Set("client_secret", idptest.WebSecret)
		case "none":
			form.Set("client_id", "cli")
		default:
			t.Fatalf("advertised auth method %s has no test", m)
		}
		// Authenticated: the refresh token is refused, not the client.
		oauthError(t, e.post(PathToken, form, id, secret), http.StatusBadRequest, codeInvalidGrant)
	}
	// The introspection endpoint needs a confidential client (RFC 7662 §2.1): no "none".
	if slices.Contains(d.IntrospectionEndpointAuthMethodsSupported, "none") {
		t.Error("introspection advertises none")
	}
}

// RFC 7517 §5 and OIDC Core §10.1.1: the JWKS is a {"keys": [...]} set whose keys carry a
// kid, and the ID token's kid is among them.
func TestJWKS(t *testing.T) {
	e := newEnv(t)
	w := e.do(httptest.NewRequest(http.MethodGet, PathJWKS, nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var set struct {
		Keys []struct {
			Kid, Kty, Alg string
			D             string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks %q: %v", w.Body, err)
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		if k.Kid == "" || k.D != "" {
			t.Fatalf("key %+v: a kid and no private part", k)
		}
		kids[k.Kid] = true
	}
	idt, _ := e.tokens("openid")["id_token"].(string)
	hdr, _, _ := strings.Cut(idt, ".")
	var h struct{ Kid string }
	if err := json.Unmarshal(mustB64(t, hdr), &h); err != nil || !kids[h.Kid] {
		t.Fatalf("ID token kid %q not in the JWKS %v", h.Kid, kids)
	}
}
