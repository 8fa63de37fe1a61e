package oidc

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// The authorization endpoint's reading of a request (parseAuthRequest: the parameters into
// oauth.AuthParams, validated by oauth.Server.Authorize), case by case.

// wantCode fails t unless got is the error code, with a description free of CR, LF and TAB.
func wantCode(t testing.TB, got *apiError, code string) {
	t.Helper()
	if got == nil {
		t.Fatalf("succeeded; want error %s", code)
	}
	if got.Code != code {
		t.Fatalf("got %s (%s); want %s", got.Code, got.Description, code)
	}
	if strings.ContainsAny(got.Description, "\r\n\t") {
		t.Fatalf("error_description contains CR/LF/TAB: %q", got.Description)
	}
}

// TestParseAuthRequestValid: OC-01, OC-05, OC-07 — a valid request is parsed into its parts;
// unknown parameters are ignored; a client with exactly one redirect URI may omit it;
// duplicate scopes collapse.
func TestParseAuthRequestValid(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB2, ch, "openid", "email", "openid")
	q.Set("prompt", "login consent")
	q.Set("max_age", "300")
	q.Set("login_hint", "alice@example.com")
	q.Set("acr_values", "aal1 aal2")
	q.Set("ui_locales", "se")
	q.Set("display", "popup")
	q.Set("extra", "foobar")
	req, redirect, oerr := e.h.parseAuthRequest(e.Ctx, q)
	if oerr != nil || redirect {
		t.Fatalf("refused: %v (redirect %v)", oerr, redirect)
	}
	if req.Client.ID != "web" || req.RedirectURI != idptest.WebCB2 || req.State != "st" || req.Nonce != "n-1" ||
		strings.Join(req.Scopes, " ") != "openid email" || req.CodeChallenge != ch || req.MaxAge != 300 ||
		!req.HasPrompt("login") || !req.HasPrompt("consent") || req.HasPrompt("none") || req.LoginHint != "alice@example.com" ||
		len(req.ACRValues) != 2 {
		t.Fatalf("parsed %+v", req)
	}
	// One registered redirect URI: it may be omitted. No max_age: -1. No nonce: fine for code.
	q = url.Values{"response_type": {"code"}, "client_id": {"rp"}, "scope": {"openid"}}
	req, _, oerr = e.h.parseAuthRequest(e.Ctx, q)
	if oerr != nil || req.RedirectURI != "https://rp2.test/cb" || req.MaxAge != -1 || req.Nonce != "" || req.CodeChallenge != "" {
		t.Fatalf("defaults: %+v %v", req, oerr)
	}
}

// TestParseAuthRequestNoRedirect: AS-03, OC-16, OC-17, RFC 6749 §4.1.2.1 — when the client
// or the redirect URI cannot be trusted, the error must be shown to the user, never sent
// to the redirect URI: missing or unknown client, unregistered or missing (with several
// registered) redirect URI, repeated or oversized parameters.
func TestParseAuthRequestNoRedirect(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	base := func() url.Values { return idptest.AuthQuery("web", idptest.WebCB, ch, "openid") }
	tests := map[string]func(q url.Values){
		"missing client_id":        func(q url.Values) { q.Del("client_id") },
		"unknown client_id":        func(q url.Values) { q.Set("client_id", "nope"); q.Set("redirect_uri", "https://evil.test/cb") },
		"invalid client_id":        func(q url.Values) { q.Set("client_id", "../../etc") },
		"client_id case variant":   func(q url.Values) { q.Set("client_id", "WEB") },
		"unregistered redirect":    func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") },
		"missing redirect (two)":   func(q url.Values) { q.Del("redirect_uri") },
		"empty redirect (two)":     func(q url.Values) { q.Set("redirect_uri", "") },
		"redirect of other client": func(q url.Values) { q.Set("redirect_uri", "https://rp2.test/cb") },
	}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
		"code_challenge_method", "prompt", "max_age", "request", "request_uri", "claims"} {
		tests["repeated "+k] = func(q url.Values) { q[k] = []string{q.Get(k), q.Get(k)} }
	}
	tests["state of 5000 bytes"] = func(q url.Values) { q.Set("state", strings.Repeat("s", 5000)) }
	tests["nonce of 5000 bytes"] = func(q url.Values) { q.Set("nonce", strings.Repeat("n", 5000)) }
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			q := base()
			mod(q)
			req, redirect, oerr := e.h.parseAuthRequest(e.Ctx, q)
			if oerr == nil {
				t.Fatalf("accepted: %+v", req)
			}
			if redirect {
				t.Fatalf("error %v would be redirected to %q", oerr, req.RedirectURI)
			}
		})
	}
}

// TestRedirectURIExactMatch: AS-01 (RFC 9700 §4.1.3; Keycloak CVE-2024-8883, CVE-2026-3872,
// CVE-2026-7504), OC-18 — the redirect URI must equal a registered one as a string: every
// variant below is refused without a redirect.
func TestRedirectURIExactMatch(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	for _, ru := range []string{
		"https://rp.test/cb/", "HTTPS://RP.test/cb", "https://RP.TEST/cb", "https://rp.test/CB", "https://rp.test:443/cb",
		"https://rp.test/cb%2F..%2Fevil", "https://rp.test/cb/../evil", "https://rp.test/cb/..", "https://rp.test/cb..;/x",
		"https://rp.test/cb;x", "https://rp.test.evil.test/cb", "https://rp.test@evil.test/cb", "https://a@b@evil.test/cb",
		"https://evil.test/.rp.test/cb", "https://evil.test/https://rp.test/cb", "http://rp.test/cb", "https://rp.test/cb#x",
		"https://rp.test/cb#", "https://rp.test/cb?x=1", "https://rp.test/cb?", "https://rp.test/c%62", "https://rp.test//cb",
		" https://rp.test/cb", "https://rp.test/cb ", "https://rp.test/cb%00", "https://rp.test/cb\\evil", "//rp.test/cb",
		"https://rp.test./cb", "https://xn--rp-test/cb", "https://rp.test/cb\t",
	} {
		t.Run(ru, func(t *testing.T) {
			q := idptest.AuthQuery("web", ru, ch, "openid")
			if _, redirect, oerr := e.h.parseAuthRequest(e.Ctx, q); oerr == nil || redirect {
				t.Fatalf("redirect_uri %q: error %v, redirect %v", ru, oerr, redirect)
			}
		})
	}
	// The loopback redirect of a native client is matched exactly too (the port included).
	for _, ru := range []string{"http://127.0.0.1:9999/callback", "http://localhost:8765/callback", "http://[::1]:8765/callback"} {
		if _, redirect, oerr := e.h.parseAuthRequest(e.Ctx, idptest.AuthQuery("cli", ru, ch, "openid")); oerr == nil || redirect {
			t.Fatalf("loopback variant %q accepted", ru)
		}
	}
	if _, _, oerr := e.h.parseAuthRequest(e.Ctx, idptest.AuthQuery("cli", idptest.CliCB, ch, "openid")); oerr != nil {
		t.Fatalf("control: %v", oerr)
	}
}

// TestParseAuthRequestRedirectedErrors: once client and redirect URI are trusted, protocol
// errors go back to the client (with state): missing or unsupported response_type (AS-12,
// OC-02), response_mode other than query, unknown scope, request objects (OC-22), bad
// prompt and max_age.
func TestParseAuthRequestRedirectedErrors(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	tests := []struct {
		name string
		mod  func(q url.Values)
		code string
	}{
		{"missing response_type", func(q url.Values) { q.Del("response_type") }, codeInvalidRequest},
		{"implicit token", func(q url.Values) { q.Set("response_type", "token") }, codeUnsupportedResponse},
		{"id_token token", func(q url.Values) { q.Set("response_type", "id_token token") }, codeUnsupportedResponse},
		{"code id_token", func(q url.Values) { q.Set("response_type", "code id_token") }, codeUnsupportedResponse},
		{"code token", func(q url.Values) { q.Set("response_type", "code token") }, codeUnsupportedResponse},
		{"Code", func(q url.Values) { q.Set("response_type", "Code") }, codeUnsupportedResponse},
		{"response_mode fragment", func(q url.Values) { q.Set("response_mode", "fragment") }, codeInvalidRequest},
		{"response_mode form_post", func(q url.Values) { q.Set("response_mode", "form_post") }, codeInvalidRequest},
		{"scope not allowed", func(q url.Values) { q.Set("scope", "openid admin") }, codeInvalidScope},
		{"scope prefix", func(q url.Values) { q.Set("scope", "openid rea") }, codeInvalidScope},
		{"request object", func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, codeRequestNotSupported},
		{"request_uri", func(q url.Values) { q.Set("request_uri", "https://attacker.test/ro") }, codeRequestURINotSupported},
		{"unknown prompt", func(q url.Values) { q.Set("prompt", "sudo") }, codeInvalidRequest},
		{"prompt none with login", func(q url.Values) { q.Set("prompt", "none login") }, codeInvalidRequest},
		{"max_age negative", func(q url.Values) { q.Set("max_age", "-1") }, codeInvalidRequest},
		{"max_age fraction", func(q url.Values) { q.Set("max_age", "1.5") }, codeInvalidRequest},
		{"max_age word", func(q url.Values) { q.Set("max_age", "soon") }, codeInvalidRequest},
		{"max_age overflow", func(q url.Values) { q.Set("max_age", "99999999999999999999") }, codeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
			tt.mod(q)
			req, redirect, oerr := e.h.parseAuthRequest(e.Ctx, q)
			wantCode(t, oerr, tt.code)
			if !redirect || req == nil || req.RedirectURI != idptest.WebCB || req.State != "st" {
				t.Fatalf("redirect %v, req %+v; want a redirect to the registered URI with the state", redirect, req)
			}
		})
	}
	// prompt=none alone and max_age=0 are valid.
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("prompt", "none")
	q.Set("max_age", "0")
	if req, _, oerr := e.h.parseAuthRequest(e.Ctx, q); oerr != nil || req.MaxAge != 0 || !req.HasPrompt("none") {
		t.Fatalf("prompt=none max_age=0: %v", oerr)
	}
}

// TestPKCERules: AS-08, AS-09, AS-10, OC-28 — PKCE is mandatory for public clients, only
// S256 is accepted (no plain downgrade), and the challenge must be a 43-character base64url
// SHA-256; a confidential client may skip PKCE only if its configuration allows.
func TestPKCERules(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	tests := []struct {
		name, client, challenge, method string
		ok                              bool
	}{
		{"public with S256", "cli", ch, "S256", true},
		{"public without PKCE (AS-09)", "cli", "", "", false},
		{"plain (downgrade)", "cli", ch, "plain", false},
		{"plain for confidential", "web", ch, "plain", false},
		{"method missing (plain by default)", "cli", ch, "", false},
		{"method lower case", "cli", ch, "s256", false},
		{"S512", "cli", ch, "S512", false},
		{"method without challenge", "web", "", "S256", false},
		{"challenge 42 chars", "cli", ch[:42], "S256", false},
		{"challenge 44 chars", "cli", ch + "A", "S256", false},
		{"challenge 128 chars", "cli", strings.Repeat("A", 128), "S256", false},
		{"challenge with +", "cli", "+" + ch[1:], "S256", false},
		{"challenge with /", "cli", "/" + ch[1:], "S256", false},
		{"challenge with =", "cli", ch[:42] + "=", "S256", false},
		{"challenge with space", "cli", " " + ch[1:], "S256", false},
		{"confidential without PKCE (optional)", "web", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ru := idptest.WebCB
			if tt.client == "cli" {
				ru = idptest.CliCB
			}
			q := idptest.AuthQuery(tt.client, ru, "", "openid")
			if tt.challenge != "" {
				q.Set("code_challenge", tt.challenge)
			}
			if tt.method != "" {
				q.Set("code_challenge_method", tt.method)
			}
			req, redirect, oerr := e.h.parseAuthRequest(e.Ctx, q)
			if tt.ok {
				if oerr != nil || req.CodeChallenge != tt.challenge {
					t.Fatalf("refused: %v", oerr)
				}
				return
			}
			wantCode(t, oerr, codeInvalidRequest)
			if !redirect {
				t.Fatal("a PKCE error for a trusted client and redirect URI should be redirected")
			}
		})
	}
	// A confidential client configured with pkce required needs it too.
	strict, err := oauth.NewClient(oauth.ClientConfig{ID: "strict", Secret: idptest.WebSecret, RedirectURIs: []string{idptest.WebCB}, PKCE: "required"})
	if err != nil || !strict.RequirePKCE {
		t.Fatalf("pkce required: %v", err)
	}
	public, _ := oauth.NewClient(oauth.ClientConfig{ID: "pub", RedirectURIs: []string{idptest.WebCB}})
	if !public.RequirePKCE || !public.Public() {
		t.Fatal("a public client does not require PKCE")
	}
	if _, err := oauth.NewClient(oauth.ClientConfig{ID: "pub", RedirectURIs: []string{idptest.WebCB}, PKCE: "optional"}); err == nil {
		t.Fatal("a public client may make PKCE optional")
	}
}
