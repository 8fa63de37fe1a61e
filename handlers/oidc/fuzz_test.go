package oidc

// FuzzTokenRequest fuzzes the token endpoint's request handling: the form body (parsed once
// into the grant's parameters), the Authorization header (client_secret_basic, form-encoded
// inside Base64) and the Content-Type. Run it with
//
//	go test -run '^$' -fuzz '^FuzzTokenRequest$' -fuzztime 60s ./handlers/oidc
//
// or every fuzz target with scripts/fuzz.sh.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const (
	fuzzWebSecret     = "0123456789abcdef-web-secret"
	fuzzMachineSecret = "machine-secret-0123456789abcdef"
)

// fuzzHandler is the token endpoint of a provider (built as module/app.go builds it, on an
// in-memory store) with a confidential web client, a public client and a machine
// client allowed the client_credentials grant.
func fuzzHandler(tb testing.TB) *Handler {
	tb.Helper()
	ctx := context.Background()
	s := memory.New()
	ring, err := keys.Load(ctx, s, keys.Algorithms, time.Now)
	if err != nil {
		tb.Fatalf("keys: %v", err)
	}
	var clients []*idp.Client
	for _, cfg := range []idp.ClientConfig{
		{ID: "web", Secret: fuzzWebSecret, RedirectURIs: []string{"https://rp.test/cb"}, Scopes: []string{"openid", "email", "offline_access"}},
		{ID: "cli", RedirectURIs: []string{"http://127.0.0.1:8765/callback"}, Scopes: []string{"openid"}},
		{ID: "machine", Secret: fuzzMachineSecret, GrantTypes: []string{idp.GrantClientCredentials},
			Scopes: []string{"openid", "offline_access", "api:read", "api:write"}, Resources: []string{"https://api.test"}},
	} {
		c, err := idp.NewClient(cfg)
		if err != nil {
			tb.Fatalf("client %s: %v", cfg.ID, err)
		}
		clients = append(clients, c)
	}
	p, err := idp.New(idp.Config{Issuer: "https://login.example.com", TenantID: "t1", SignupMode: idp.SignupClosed}, s, ring,
		password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, 0), tokens.NewRevocationList(time.Now, 0),
		clients, time.Now, nil)
	if err != nil {
		tb.Fatalf("provider: %v", err)
	}
	return &Handler{OAuth: p.OAuth, Sessions: p.Sessions, MFA: p.MFA, Passkeys: p.Passkey, Tokens: p.Verifier,
		Keys: p.Keys, Issuer: p.Issuer, Now: p.Now}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// FuzzTokenRequest: whatever the body, Authorization header and Content-Type, POST /token
// answers without a panic and never with a 5xx (RB-14); every answer has
// Cache-Control: no-store (AS-23); an error is RFC 6749 §5.2 JSON whose error_description has
// no CR, LF, TAB, quote or backslash (RB-14); a repeated parameter is refused (RB-03); the
// password grant and the implicit "token" are refused without a credential check (AS-13). A
// success can only be the one grant needing neither code nor refresh token — the machine
// client's client_credentials, authenticated — and its access token names the client, not a
// user, without refresh or ID token and without openid or offline_access (AS-30).
func FuzzTokenRequest(f *testing.F) {
	form := "application/x-www-form-urlencoded"
	for _, s := range []struct{ body, authz, ctype string }{
		{"grant_type=client_credentials&scope=api%3Aread", basic("machine", fuzzMachineSecret), form},
		{"grant_type=client_credentials&client_id=machine&client_secret=" + fuzzMachineSecret + "&resource=https%3A%2F%2Fapi.test", "", form},
		{"grant_type=client_credentials&scope=openid+offline_access", basic("machine", fuzzMachineSecret), form},
		{"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Frp.test%2Fcb&code_verifier=" + strings.Repeat("a", 43), basic("web", fuzzWebSecret), form},
		{"grant_type=authorization_code&code=abc&client_id=cli&code_verifier=x", "", form},
		{"grant_type=refresh_token&refresh_token=rt&scope=openid", basic("web", fuzzWebSecret), form},
		{"grant_type=password&username=alice%40example.com&password=hunter2&client_id=web", "", form},
		{"grant_type=implicit&client_id=web", "", form},
		{"grant_type=authorization_code&code=a&code=b", basic("web", fuzzWebSecret), form},
		{"grant_type=client_credentials&client_secret=" + fuzzMachineSecret, basic("machine", fuzzMachineSecret), form},
		{"grant_type=client_credentials&client_id=web", basic("machine", fuzzMachineSecret), form},
		{"grant_type=client_credentials", "Basic !!!", form},
		{"grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("machine%zz:x")), form},
		{"grant_type=client_credentials", "Bearer x", "application/json"},
		{`{"grant_type":"client_credentials"}`, "", "application/json"},
		{"grant_type=%0D%0Aevil&client_id=%22%5C", "", form + "; charset=utf-8"},
		{strings.Repeat("a=b&", 2000), "", form},
		{"", "", ""},
	} {
		f.Add(s.body, s.authz, s.ctype)
	}
	h := fuzzHandler(f)
	// The harness is sound: the machine client's grant succeeds.
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials&scope=api%3Aread"))
	r.Header.Set("Content-Type", form)
	r.Header.Set("Authorization", basic("machine", fuzzMachineSecret))
	w := httptest.NewRecorder()
	if h.token(w, r); w.Code != http.StatusOK {
		f.Fatalf("client_credentials: %d %s", w.Code, w.Body)
	}
	f.Fuzz(func(t *testing.T, body, authz, ctype string) {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		h.token(w, r)
		res := w.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("status %d: %s", res.StatusCode, w.Body)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d, body not JSON: %q", res.StatusCode, w.Body)
		}
		form, _ := url.ParseQuery(body)
		if res.StatusCode != http.StatusOK {
			code, _ := out["error"].(string)
			desc, _ := out["error_description"].(string)
			if code == "" || strings.ContainsAny(desc, "\r\n\t\"\\") {
				t.Fatalf("status %d, error %q, description %q", res.StatusCode, code, desc)
			}
			return
		}
		for _, k := range tokenParams {
			if len(form[k]) > 1 {
				t.Fatalf("repeated %s accepted", k)
			}
		}
		if g := form.Get("grant_type"); g != idp.GrantClientCredentials {
			t.Fatalf("grant %q succeeded", g)
		}
		if _, ok := out["refresh_token"]; ok {
			t.Fatal("client_credentials issued a refresh token")
		}
		if _, ok := out["id_token"]; ok {
			t.Fatal("client_credentials issued an ID token")
		}
		at, _ := out["access_token"].(string)
		c, err := h.Tokens.VerifyAccessToken(at)
		if err != nil {
			t.Fatalf("issued access token does not verify: %v", err)
		}
		if c.ClientID != "machine" || c.Subject != "machine" {
			t.Fatalf("access token for client %q, subject %q", c.ClientID, c.Subject)
		}
		for _, s := range c.Scopes() {
			if s == "openid" || s == "offline_access" {
				t.Fatalf("client_credentials granted %q", s)
			}
		}
	})
}
