package oidc

// Fuzz targets for the authorization endpoint's parsers of outside input: the authorization
// request (url.Values -> oauth.AuthParams -> oauth.AuthRequest) and the OIDC claims
// parameter. Run one with
//
//	go test -run '^$' -fuzz '^FuzzParseAuthRequest$' -fuzztime 60s ./handlers/oidc
//
// or all of them with scripts/fuzz.sh. The package-internal test reaches the unexported
// pieces (the single-valued parameters, the size bound); the authorization server needs only
// its clients and a store (store/memory) to validate requests.

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

const (
	fuzzWebCB  = "https://rp.test/cb"
	fuzzWebCB2 = "https://rp.test/other-cb"
	fuzzCliCB  = "http://127.0.0.1:8765/callback"
)

// fuzzAuthorize is the authorization endpoint's parser over a server with a confidential client "web" (two redirect URIs, PKCE
// optional, resource https://api.test), a public client "cli" (PKCE required) and a
// confidential client "rp" with one redirect URI.
func fuzzAuthorize(tb testing.TB) *Handler {
	tb.Helper()
	s := memory.New()
	scopes := []string{"openid", "profile", "email", "offline_access", "read", "write"}
	clients := map[string]*oauth.Client{}
	for _, cfg := range []oauth.ClientConfig{
		{ID: "web", Secret: "0123456789abcdef-web-secret", RedirectURIs: []string{fuzzWebCB, fuzzWebCB2}, Scopes: scopes,
			Resources: []string{"https://api.test"}},
		{ID: "cli", RedirectURIs: []string{fuzzCliCB}, Scopes: scopes},
		{ID: "rp", Secret: "another-secret-of-16+", RedirectURIs: []string{"https://rp2.test/cb"}},
	} {
		c, err := oauth.NewClient(cfg)
		if err != nil {
			tb.Fatalf("client %s: %v", cfg.ID, err)
		}
		clients[c.ID] = c
	}
	return &Handler{OAuth: &oauth.Server{Store: s, Configured: clients}}
}

// FuzzParseAuthRequest: whatever the query, parseAuthRequest never panics, and
//   - an error it does not send to a redirect URI is shown on a page (redirect false); an
//     error it redirects goes to a redirect URI registered for the client, exactly
//     (AS-01, AS-03, OC-16, OC-17: no redirect to an unvalidated URI);
//   - an accepted request has a registered redirect URI, only allowed scopes, an S256
//     challenge of 43 base64url characters or none, and none only for a client that does not
//     require PKCE (AS-09, AS-10, OC-28); only response_type=code (AS-12);
//   - no error description carries CR, LF or TAB (RB-14), and repeated single-valued
//     parameters are refused (RB-03).
func FuzzParseAuthRequest(f *testing.F) {
	const ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B
	for _, q := range []string{
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.test%2Fcb&scope=openid+email&state=st&nonce=n-1",
		"response_type=code&client_id=cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&scope=openid&code_challenge=" + ch + "&code_challenge_method=S256",
		"response_type=code&client_id=rp&scope=openid",
		"response_type=code&client_id=web&scope=openid",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.test%2Fcb%2F&scope=openid",
		"response_type=code&client_id=web&redirect_uri=HTTPS%3A%2F%2FRP.test%2Fcb&scope=openid",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.test%3A443%2Fcb",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.test%40evil.test%2Fcb",
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.test%2Fcb%2F..%2Fevil",
		"response_type=code&client_id=cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcallback&code_challenge=" + ch + "&code_challenge_method=S256",
		"response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.test",
		"response_type=token&client_id=web&redirect_uri=https%3A%2F%2Frp.test%2Fcb",
		"response_type=code+id_token&client_id=web&redirect_uri=https%3A%2F%2Frp.test%2Fcb&response_mode=fragment",
		"client_id=web&client_id=rp&redirect_uri=https%3A%2F%2Frp.test%2Fcb&response_type=code",
		"response_type=code&client_id=cli&code_challenge=abc&code_challenge_method=plain",
		"response_type=code&client_id=cli&code_challenge_method=S256",
		"response_type=code&client_id=web&prompt=none+login&max_age=-1",
		"response_type=code&client_id=web&prompt=login&max_age=0&acr_values=aal2+aal1&ui_locales=se&login_hint=x&display=popup&extra=foobar",
		"response_type=code&client_id=web&request=eyJhbGciOiJub25lIn0.e30.",
		"response_type=code&client_id=web&request_uri=https%3A%2F%2Fattacker.test%2Fro",
		`response_type=code&client_id=web&scope=openid&claims=%7B%22id_token%22%3A%7B%22sub%22%3A%7B%22value%22%3A%22admin%22%7D%7D%7D`,
		`response_type=code&client_id=web&scope=openid&claims=%7B%22userinfo%22%3A%7B%22name%22%3A%7B%22essential%22%3Atrue%7D%7D%7D`,
		"response_type=code&client_id=web&resource=https%3A%2F%2Fapi.test&resource=https%3A%2F%2Fevil.test",
		"response_type=code&client_id=web&state=a%0D%0ASet-Cookie%3A+x&scope=%0Aevil",
		"response_type=code&client_id=web&scope=" + strings.Repeat("read+", 70),
	} {
		f.Add(q)
	}
	h := fuzzAuthorize(f)
	ctx := context.Background()
	for _, raw := range []string{"response_type=code&client_id=rp&scope=openid",
		"response_type=code&client_id=cli&code_challenge=" + ch + "&code_challenge_method=S256"} {
		q, _ := url.ParseQuery(raw)
		if _, _, oerr := h.parseAuthRequest(ctx, q); oerr != nil {
			f.Fatalf("valid request %s refused: %v", raw, oerr)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the handler refuses an unparsable query before parseAuthRequest
		}
		req, redirect, oerr := h.parseAuthRequest(ctx, q)
		if oerr != nil {
			if oerr.Code == "" || strings.ContainsAny(oerr.Description, "\r\n\t") {
				t.Fatalf("bad error %q: %q", oerr.Code, oerr.Description)
			}
			if !redirect {
				return
			}
		}
		if req == nil || req.Client == nil {
			t.Fatalf("no request (redirect %v, err %v)", redirect, oerr)
		}
		if !slices.Contains(req.Client.RedirectURIs, req.RedirectURI) {
			t.Fatalf("redirect URI %q is not registered for %s (err %v)", req.RedirectURI, req.Client.ID, oerr)
		}
		if oerr != nil {
			return
		}
		for _, k := range singleParams {
			if len(q[k]) > 1 {
				t.Fatalf("repeated %s accepted", k)
			}
		}
		if q.Get("response_type") != "code" || q.Has("request") || q.Has("request_uri") {
			t.Fatalf("accepted response_type %q / request object", q.Get("response_type"))
		}
		for _, s := range req.Scopes {
			if !req.Client.AllowsScope(s) {
				t.Fatalf("scope %q accepted for %s", s, req.Client.ID)
			}
		}
		switch {
		case req.CodeChallenge == "" && req.Client.RequirePKCE:
			t.Fatalf("client %s requires PKCE, request without a challenge accepted", req.Client.ID)
		case req.CodeChallenge != "" && (len(req.CodeChallenge) != 43 || strings.Trim(req.CodeChallenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" || q.Get("code_challenge_method") != "S256"):
			t.Fatalf("challenge %q (method %q) accepted", req.CodeChallenge, q.Get("code_challenge_method"))
		}
		if req.HasPrompt("none") && len(req.Prompt) > 1 {
			t.Fatalf("prompt %q accepted", req.Prompt)
		}
		for _, r := range req.Resources {
			if !req.Client.AllowsResource(r) {
				t.Fatalf("resource %q accepted", r)
			}
		}
		// The claims request survives the trip through the code record unchanged.
		if enc := req.Claims.Encode(); enc != "" {
			if again := issue.DecodeClaimsRequest(enc).Encode(); again != enc {
				t.Fatalf("claims request changes when stored: %q -> %q", enc, again)
			}
		}
	})
}

// FuzzParseClaimsRequest: the claims parameter parser (OIDC Core §5.5) never panics; what it
// accepts is within the documented limits — at most 8 KB, nested at most 5 deep, id_token
// and userinfo objects of at most 64 claims with names of 1 to 128 bytes, at most 100
// fields — and what it refuses is an invalid_request whose description is safe to echo
// (RB-05, RB-14, OC-21). An accepted request is stored in the authorization code as its
// normalised JSON: decoding that gives the same request back.
func FuzzParseClaimsRequest(f *testing.F) {
	for _, s := range []string{
		`{"userinfo":{"name":{"essential":true}}}`,
		`{"id_token":{"sub":{"value":"admin"},"acr":{"essential":true,"values":["aal2","aal1"]}},"userinfo":{"email":null}}`,
		`{"id_token":{"custom_data":{"fields":["plan","tier"]},"custom_app_data":null,"groups":null}}`,
		`{"id_token":{"auth_time":{"essential":true}},"userinfo":null}`,
		`{"id_token":{"x":{"unknown":1}}}`,
		`{"id_token":[]}`, `{"id_token":{"":null}}`, `[]`, `null`, `{}`, `{"a":1} x`, `{"id_token":{"sub":{"value":"\ud800"}}}`,
		`{"id_token":{"n":{"value":1e999999}}}`,
		`{"id_token":{"n":{"value":[[[[[[1]]]]]]}}}`,
		strings.Repeat("[", 10000),
		`{"id_token":{"a":{"value":"` + strings.Repeat("<", 8100) + `"}}}`,
		`{"id_token":{"sub":{"value":"a","value":"b"}}}`,
		`{"ID_TOKEN":{"sub":{"Value":"admin"}}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		req, oerr := parseClaimsRequest(raw)
		if oerr != nil {
			if oerr.Code != codeInvalidRequest || strings.ContainsAny(oerr.Description, "\r\n\t") {
				t.Fatalf("error %q %q", oerr.Code, oerr.Description)
			}
			return
		}
		if len(raw) > maxClaimsRequest {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		if d := input.JSONDepth(raw); d < 1 || d > 5 {
			t.Fatalf("accepted depth %d", d)
		}
		if !json.Valid([]byte(raw)) {
			t.Fatalf("accepted invalid JSON %q", raw)
		}
		for _, m := range []map[string]*issue.ClaimSpec{req.IDToken, req.Userinfo} {
			if len(m) > 64 {
				t.Fatalf("accepted %d claims", len(m))
			}
			for name, spec := range m {
				if name == "" || len(name) > 128 {
					t.Fatalf("accepted claim name %q", name)
				}
				if spec != nil && len(spec.Fields) > 100 {
					t.Fatalf("accepted %d fields", len(spec.Fields))
				}
			}
		}
		enc := req.Encode()
		if enc == "" {
			return
		}
		back := issue.DecodeClaimsRequest(enc)
		if back == nil {
			t.Fatalf("stored form %q does not decode", enc)
		}
		if again := back.Encode(); again != enc {
			t.Fatalf("stored form changes: %q -> %q", enc, again)
		}
	})
}
