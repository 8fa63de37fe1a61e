package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// deviceClients adds "tv" (public, device_code) and "tv-secret" (confidential, the full
// grant type name) to the env's configured clients.
func deviceClients(t *testing.T, e *env) {
	t.Helper()
	for _, cfg := range []oauth.ClientConfig{
		{ID: "tv", Name: "Living-room TV", GrantTypes: []string{"device_code", "refresh_token"}},
		{ID: "tv-secret", Secret: "a-device-secret-of-16+", GrantTypes: []string{oauth.GrantDeviceCode}},
	} {
		c, err := oauth.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.P.OAuth.Configured[cfg.ID] = c
	}
}

// RFC 8628 §3.1: "The client initiates the authorization flow by requesting a set of
// verification codes from the authorization server by making an HTTP "POST" request to the
// device authorization endpoint", authenticating as at the token endpoint when it is
// confidential; §3.2: the answer has device_code, user_code, verification_uri,
// verification_uri_complete, expires_in and interval.
func TestDeviceAuthorizationEndpoint(t *testing.T) {
	e := newEnv(t)
	deviceClients(t, e)
	out := decode(t, e.post(PathDeviceCode, url.Values{"client_id": {"tv"}, "scope": {"openid profile"}}, "", ""))
	uc, _ := out["user_code"].(string)
	if out["device_code"] == "" || len(uc) != 9 || out["verification_uri"] != idptest.Issuer+"/device" ||
		out["verification_uri_complete"] != idptest.Issuer+"/device?user_code="+uc ||
		out["expires_in"] != float64(600) || out["interval"] != float64(5) {
		t.Fatalf("answer %v", out)
	}
	w := e.post(PathDeviceCode, url.Values{"client_id": {"tv"}}, "", "")
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}
	decode(t, e.post(PathDeviceCode, url.Values{}, "tv-secret", "a-device-secret-of-16+"))
	// Failures: wrong secret, no client, a client without the grant, a scope not allowed,
	// GET, a repeated parameter.
	oauthError(t, e.post(PathDeviceCode, url.Values{}, "tv-secret", "wrong-secret-of-16+++"), http.StatusUnauthorized, codeInvalidClient)
	oauthError(t, e.post(PathDeviceCode, url.Values{"client_id": {"tv-secret"}}, "", ""), http.StatusUnauthorized, codeInvalidClient)
	oauthError(t, e.post(PathDeviceCode, url.Values{}, "", ""), http.StatusUnauthorized, codeInvalidClient)
	oauthError(t, e.post(PathDeviceCode, url.Values{"scope": {"openid"}}, "web", idptest.WebSecret), http.StatusBadRequest, codeUnauthorizedClient)
	oauthError(t, e.post(PathDeviceCode, url.Values{"client_id": {"tv"}, "scope": {"openid admin"}}, "", ""), http.StatusBadRequest, codeInvalidScope)
	oauthError(t, e.do(httptest.NewRequest(http.MethodGet, PathDeviceCode+"?client_id=tv", nil)), http.StatusMethodNotAllowed, codeInvalidRequest)
	oauthError(t, e.post(PathDeviceCode, url.Values{"client_id": {"tv", "tv"}}, "", ""), http.StatusBadRequest, codeInvalidRequest)
}

// RFC 8628 §3.4: the device polls with grant_type urn:ietf:params:oauth:grant-type:device_code
// and device_code; §3.5 lists the error codes, sent as RFC 6749 §5.2 errors (400 JSON):
// authorization_pending, slow_down, access_denied, expired_token; a client without the
// grant gets unauthorized_client.
func TestDeviceTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	deviceClients(t, e)
	start := func() (string, string) {
		out := decode(t, e.post(PathDeviceCode, url.Values{"client_id": {"tv"}, "scope": {"openid"}}, "", ""))
		return out["device_code"].(string), out["user_code"].(string)
	}
	poll := func(dc string) *httptest.ResponseRecorder {
		return e.post(PathToken, url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc}, "client_id": {"tv"}}, "", "")
	}
	dc, uc := start()
	oauthError(t, poll(dc), http.StatusBadRequest, codeAuthorizationPending)
	oauthError(t, poll(dc), http.StatusBadRequest, codeSlowDown)
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeUnauthorizedClient)
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"device_code"}, "device_code": {dc}, "client_id": {"tv"}}, "", ""),
		http.StatusBadRequest, codeUnsupportedGrantType)

	_, sess, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, uc, sess.ID, false, "192.0.2.1"); oerr != nil {
		t.Fatal(oerr)
	}
	e.Clock.Advance(11 * time.Second)
	oauthError(t, poll(dc), http.StatusBadRequest, codeAccessDenied)

	dc2, _ := start()
	e.Clock.Advance(11 * time.Minute)
	oauthError(t, poll(dc2), http.StatusBadRequest, codeExpiredToken)

	dc3, uc3 := start()
	if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, uc3, sess.ID, true, "192.0.2.1"); oerr != nil {
		t.Fatal(oerr)
	}
	tok := decode(t, poll(dc3))
	if tok["access_token"] == "" || tok["id_token"] == nil || tok["token_type"] != "Bearer" {
		t.Fatalf("tokens %v", tok)
	}
	oauthError(t, poll(dc3), http.StatusBadRequest, codeInvalidGrant)
}

// The discovery document advertises the device authorization endpoint and the grant type
// (RFC 8628 §4), and both work: the endpoint answers a device code that the advertised grant
// type accepts.
func TestDiscoveryAdvertisesDeviceGrant(t *testing.T) {
	e := newEnv(t)
	deviceClients(t, e)
	var d Discovery
	if err := json.Unmarshal(e.do(httptest.NewRequest(http.MethodGet, PathDiscovery, nil)).Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.DeviceAuthorizationEndpoint != idptest.Issuer+PathDeviceCode || !slices.Contains(d.GrantTypesSupported, oauth.GrantDeviceCode) {
		t.Fatalf("discovery: %q %v", d.DeviceAuthorizationEndpoint, d.GrantTypesSupported)
	}
	out := decode(t, e.post(PathDeviceCode, url.Values{"client_id": {"tv"}}, "", ""))
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {out["device_code"].(string)},
		"client_id": {"tv"}}, "", ""), http.StatusBadRequest, codeAuthorizationPending)
}
