package oauth_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// TestValidateRedirectURI: AS-02 (RFC 9700 §2.6; Keycloak CVE-2026-9086), OC-18 — at
// registration, redirect URIs must be absolute https (or http on loopback for native
// apps, or a private-use reverse-domain scheme), without fragment, user information,
// whitespace or dangerous schemes in any case.
func TestValidateRedirectURI(t *testing.T) {
	ok := []string{
		"https://rp.test/cb", "https://rp.test:8443/cb?x=1", "http://127.0.0.1:8765/cb", "http://127.0.0.2/cb",
		"http://[::1]:8765/cb", "http://localhost/cb", "http://localhost:3000/.gatehouse/callback", "com.example.app:/oauth",
		"com.example.app://callback",
	}
	for _, u := range ok {
		if err := oauth.ValidateRedirectURI(u); err != nil {
			t.Errorf("ValidateRedirectURI(%q) = %v, want ok", u, err)
		}
	}
	bad := []string{
		"", "/cb", "rp.test/cb", "//rp.test/cb", "http://rp.test/cb", "http://192.168.1.10/cb", "http://localhost.evil.test/cb",
		"http://127.0.0.1.nip.io/cb", "https://rp.test/cb#frag", "https://rp.test/cb#", "https://user@rp.test/cb",
		"https://user:pw@rp.test/cb", "javascript:alert(1)", "JavaScript:alert(1)", "JAVASCRIPT://%0aalert(1)",
		"data:text/html,<script>", "DATA:text/html,x", "file:///etc/passwd", "vbscript:x", "blob:https://rp.test/x",
		"about:blank", "ftp://rp.test/cb", "ws://rp.test/cb", "wss://rp.test/cb", "myapp:/cb", "https:///cb", "https://",
		" https://rp.test/cb", "https://rp.test/cb ", "https://rp.test/c b", "https://rp.test/cb\n", "https://rp.test/cb\x00",
		"https://rp.test\\@evil.test/cb", "https://rp.test/%zz",
	}
	for _, u := range bad {
		if err := oauth.ValidateRedirectURI(u); err == nil {
			t.Errorf("ValidateRedirectURI(%q) accepted", u)
		}
	}
}

// TestNewClientValidation: client configuration errors are collected and each names the
// client and the field (AS-02, JW-22, AS-12, AS-13).
func TestNewClientValidation(t *testing.T) {
	_, err := oauth.NewClient(oauth.ClientConfig{ID: "bad id!", Secret: "short", RedirectURIs: []string{"http://rp.test/cb"},
		Scopes: []string{"a b"}, GrantTypes: []string{"implicit", "password", "client_credentials"}, PKCE: "maybe"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"client id", "secret must be at least 16", "redirect_uri", `scope "a b"`, `grant type "implicit"`,
		`grant type "password"`, "pkce must be required or optional"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
	// client_credentials needs a confidential client.
	if _, err := oauth.NewClient(oauth.ClientConfig{ID: "m2m", GrantTypes: []string{"client_credentials"}}); err == nil ||
		!strings.Contains(err.Error(), "client_credentials needs a confidential client") {
		t.Fatalf("public client_credentials client: %v", err)
	}
	if _, err := oauth.NewClient(oauth.ClientConfig{ID: "web"}); err == nil || !strings.Contains(err.Error(), "redirect_uri is required") {
		t.Fatalf("client without redirect URI: %v", err)
	}
	c, err := oauth.NewClient(oauth.ClientConfig{ID: "svc", Secret: idptest.WebSecret, RedirectURIs: []string{idptest.WebCB}})
	if err != nil || c.Authenticate("wrong-secret-of-16chars") || !c.Authenticate(idptest.WebSecret) || c.Authenticate("") || c.Public() {
		t.Fatalf("secret check: %v", err)
	}
	if pub, _ := oauth.NewClient(oauth.ClientConfig{ID: "p", RedirectURIs: []string{idptest.WebCB}}); pub.Authenticate("") {
		t.Fatal("a public client authenticates with an empty secret")
	}
	if !c.AllowsScope("openid") || c.AllowsScope("admin") || !c.AllowsGrant(oauth.GrantRefreshToken) {
		t.Fatal("defaults")
	}
}
