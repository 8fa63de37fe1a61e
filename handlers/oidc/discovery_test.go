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
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/sessions"
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

// OIDC Discovery 1.0 §3: prompt_values_supported is the "list of prompt values that this OP
// supports", acr_values_supported "a list of the Authentication Context Class References
// that this OP supports", response_types_supported and response_modes_supported the values
// "that this OP supports". Every advertised value is exercised at /authorize and must have
// its effect, so that discovery cannot advertise a value the endpoint ignores: prompt=none
// without a session → login_required; prompt=login with a session → the login page;
// prompt=consent → a third-party client's consent page although the user consented;
// acr_values=aal1 → a code whose ID token says aal1; acr_values=aal2 → a single-factor
// session is stepped up (no code yet) and a multi-factor session gets an ID token saying
// aal2; response_type code with response_mode query → the code in the query.
func TestDiscoveryAdvertisedValuesHonoured(t *testing.T) {
	e := newEnv(t)
	var d Discovery
	if err := json.Unmarshal(e.do(httptest.NewRequest(http.MethodGet, PathDiscovery, nil)).Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	query := func(set ...string) (url.Values, string) {
		v, ch := idptest.PKCE()
		q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
		for i := 0; i+1 < len(set); i += 2 {
			q.Set(set[i], set[i+1])
		}
		return q, v
	}
	// session returns a request for target with a cookie of a new session logged in with amr.
	session := func(target string, amr ...string) *http.Request {
		secret, _, err := e.P.Sessions.Start(e.Ctx, e.User, amr, sessions.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if err := e.cookie.Issue(w, r, secret); err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest(http.MethodGet, target, nil)
		for _, c := range w.Result().Cookies() {
			r.AddCookie(c)
		}
		return r
	}
	idTokenACR := func(w *httptest.ResponseRecorder, verifier string) string {
		t.Helper()
		code := redirectParams(t, w).Get("code")
		if code == "" {
			t.Fatalf("no code: %s", w.Header().Get("Location"))
		}
		tok := decode(t, e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {idptest.WebCB}, "code_verifier": {verifier}}, "web", idptest.WebSecret))
		claims, err := e.P.Verifier.VerifyIDToken(tok["id_token"].(string), false)
		if err != nil {
			t.Fatal(err)
		}
		acr, _ := claims["acr"].(string)
		return acr
	}
	for _, p := range d.PromptValuesSupported {
		q, _ := query("prompt", p)
		switch p {
		case "none":
			w := e.do(httptest.NewRequest(http.MethodGet, PathAuthorize+"?"+q.Encode(), nil))
			if got := redirectParams(t, w).Get("error"); got != codeLoginRequired {
				t.Errorf("prompt=none without a session: error %q, want login_required", got)
			}
		case "login":
			w := e.do(session(PathAuthorize+"?"+q.Encode(), "pwd"))
			if loc := w.Header().Get("Location"); w.Code != http.StatusFound || !strings.HasPrefix(loc, PathLogin+"?") {
				t.Errorf("prompt=login with a session: %d %q, want the login page", w.Code, loc)
			}
		case "consent":
			// A third-party client's consent page is shown again although the user
			// consented before (the Allow is remembered: without prompt=consent, a code).
			b := newBrowser(e)
			b.codeFor(t, b.decide(t, b.get(partnerAuthorize("openid")), "allow"))
			b.codeFor(t, b.get(partnerAuthorize("openid")))
			consentForm(t, b.get(partnerAuthorize("openid", "prompt", p)))
		default:
			t.Errorf("prompt value %q is advertised but /authorize has no behaviour for it", p)
		}
	}
	for _, acr := range d.ACRValuesSupported {
		q, v := query("acr_values", acr)
		switch acr {
		case login.ACRSingleFactor:
			if got := idTokenACR(e.do(session(PathAuthorize+"?"+q.Encode(), "pwd")), v); got != acr {
				t.Errorf("acr_values=%s: ID token acr %q", acr, got)
			}
		case login.ACRMultiFactor:
			w := e.do(session(PathAuthorize+"?"+q.Encode(), "pwd"))
			if strings.Contains(w.Header().Get("Location"), "code=") {
				t.Errorf("acr_values=aal2 with a single-factor session: a code without step-up")
			}
			if got := idTokenACR(e.do(session(PathAuthorize+"?"+q.Encode(), "pwd", login.AMRMFA)), v); got != acr {
				t.Errorf("acr_values=aal2 with a multi-factor session: ID token acr %q", got)
			}
		default:
			t.Errorf("acr value %q is advertised but has no test", acr)
		}
	}
	for _, rt := range d.ResponseTypesSupported {
		for _, rm := range d.ResponseModesSupported {
			q, _ := query("response_type", rt, "response_mode", rm)
			if rt != "code" || rm != "query" || redirectParams(t, e.do(session(PathAuthorize+"?"+q.Encode(), "pwd"))).Get("code") == "" {
				t.Errorf("response_type %s, response_mode %s: no code in the query", rt, rm)
			}
		}
	}
	for _, m := range d.CodeChallengeMethodsSupported {
		q, _ := query("code_challenge_method", m)
		if m != "S256" || redirectParams(t, e.do(session(PathAuthorize+"?"+q.Encode(), "pwd"))).Get("code") == "" {
			t.Errorf("code_challenge_method %s: refused", m)
		}
	}
}
