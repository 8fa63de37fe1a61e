package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestClientSecretsStayOutOfTheConfigAPI: Caddy's admin endpoint shows the loaded
// configuration (GET /config/). A confidential client whose secret is a placeholder
// ({env.*}, resolved at load) or only a hash (secret_hash, from `gatehouse hash-secret`) shows
// neither its secret there nor anything that authenticates, yet both clients authenticate
// with client_secret_basic and client_secret_post, and a wrong secret is still refused with
// 401 invalid_client (RFC 6749 §2.3.1; AS-24; THREATS JW-22: secrets are not in the config).
func TestClientSecretsStayOutOfTheConfigAPI(t *testing.T) {
	const envSecret = "e2e-env-secret-0123456789abcdefghij"
	const hashedSecret = "e2e-hashed-secret-0123456789abcdefgh"
	t.Setenv("GH_E2E_CLIENT_SECRET", envSecret)
	out, err := runCLI(t, hashedSecret+"\n", "hash-secret")
	if err != nil {
		t.Fatalf("gatehouse hash-secret: %v\n%s", err, out)
	}
	hash := strings.TrimSpace(out)
	if !strings.HasPrefix(hash, "$sha256$") || strings.Contains(hash, hashedSecret) {
		t.Fatalf("gatehouse hash-secret printed %q", hash)
	}
	if out, err := runCLI(t, "short\n", "hash-secret"); err == nil {
		t.Errorf("hash-secret accepted a 5-character secret: %s", out)
	}

	e := Start(t, Config{Gatehouse: `
		client from-env {
			secret {env.GH_E2E_CLIENT_SECRET}
			grant_types client_credentials
			scopes read:docs
		}
		client hashed {
			secret_hash ` + hash + `
			grant_types client_credentials
			scopes read:docs
		}`})

	cfg := e.Admin(http.MethodGet, "/config/", nil)
	if cfg.Status != http.StatusOK {
		t.Fatalf("GET /config/: %s", cfg)
	}
	body := string(cfg.Body)
	for _, s := range []string{envSecret, hashedSecret} {
		if strings.Contains(body, s) {
			t.Errorf("GET /config/ shows a client secret")
		}
	}
	if !strings.Contains(body, "{env.GH_E2E_CLIENT_SECRET}") || !strings.Contains(body, hash) {
		t.Errorf("GET /config/ does not show the placeholder and the hash it was loaded with:\n%s", body)
	}

	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:docs"}}
	for _, c := range []struct{ id, secret string }{{"from-env", envSecret}, {"hashed", hashedSecret}} {
		if r := e.Token(cc, c.id, c.secret); r.Status != http.StatusOK {
			t.Errorf("%s with client_secret_basic: %s", c.id, r)
		}
		post := url.Values{"client_id": {c.id}, "client_secret": {c.secret}}
		for k, v := range cc {
			post[k] = v
		}
		if r := e.Token(post); r.Status != http.StatusOK {
			t.Errorf("%s with client_secret_post: %s", c.id, r)
		}
		wantTokenError(t, c.id+" with a wrong secret", e.Token(cc, c.id, c.secret+"x"), http.StatusUnauthorized, "invalid_client")
		wantTokenError(t, c.id+" with the other client's secret", e.Token(cc, c.id, strings.Replace(c.secret, "e2e", "E2E", 1)), http.StatusUnauthorized, "invalid_client")
	}
	// The hash itself is no secret: presenting it does not authenticate.
	wantTokenError(t, "the hash as the secret", e.Token(cc, "hashed", hash), http.StatusUnauthorized, "invalid_client")
}
