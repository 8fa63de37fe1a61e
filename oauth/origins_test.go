package oauth_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// An allowed origin is a serialized origin as the Origin header carries it (RFC 6454 §6.2):
// scheme://host[:port], lower case, no default port, no path — https, or http on loopback.
func TestValidateOrigin(t *testing.T) {
	for _, o := range []string{"https://app.example.com", "https://app.example.com:8443", "http://127.0.0.1:5173",
		"http://localhost:3000", "http://[::1]:8080"} {
		if err := oauth.ValidateOrigin(o); err != nil {
			t.Errorf("%q: %v", o, err)
		}
	}
	for _, o := range []string{"", "*", "null", "app.example.com", "https://app.example.com/", "https://app.example.com/spa",
		"https://app.example.com?x", "https://app.example.com#f", "https://u@app.example.com", "https://APP.example.com",
		"HTTPS://app.example.com", "https://app.example.com:443", "http://127.0.0.1:80", "http://app.example.com",
		"ftp://app.example.com", "com.example.app://cb", "https://"} {
		if err := oauth.ValidateOrigin(o); err == nil {
			t.Errorf("%q accepted", o)
		}
	}
}

// A public client's browser origins are its http(s) redirect URIs' origins (normalised:
// lower case, default port dropped; a native app's private-use scheme has none) plus its
// allowed_origins; a confidential client has none and may not list allowed_origins.
func TestClientOrigins(t *testing.T) {
	c, err := oauth.NewClient(oauth.ClientConfig{ID: "spa", RedirectURIs: []string{"https://App.Example.com:443/cb",
		"https://app.example.com/other", "http://127.0.0.1:5173/cb", "com.example.app:/oauth"},
		AllowedOrigins: []string{"https://cdn.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:5173", "https://app.example.com", "https://cdn.example.com"}
	if got := c.Origins(); !slices.Equal(got, want) {
		t.Errorf("origins %q, want %q", got, want)
	}
	if !c.AllowsOrigin("https://app.example.com") || c.AllowsOrigin("https://app.example.com:443") || c.AllowsOrigin("") {
		t.Error("AllowsOrigin compares serialized origins exactly")
	}
	conf, err := oauth.NewClient(oauth.ClientConfig{ID: "web", Secret: "a-secret-of-16-characters", RedirectURIs: []string{"https://rp.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(conf.Origins()) != 0 || conf.AllowsOrigin("https://rp.test") {
		t.Errorf("confidential client has origins %q", conf.Origins())
	}
	_, err = oauth.NewClient(oauth.ClientConfig{ID: "web", Secret: "a-secret-of-16-characters", RedirectURIs: []string{"https://rp.test/cb"},
		AllowedOrigins: []string{"https://rp.test"}})
	if err == nil || !strings.Contains(err.Error(), "only for public clients") {
		t.Errorf("confidential client with allowed_origins: %v", err)
	}
	_, err = oauth.NewClient(oauth.ClientConfig{ID: "spa", RedirectURIs: []string{"https://rp.test/cb"}, AllowedOrigins: []string{"https://rp.test/"}})
	if err == nil || !strings.Contains(err.Error(), "allowed_origin") {
		t.Errorf("origin with a path: %v", err)
	}
}

// KnownOrigin (the preflight's question, which has no client_id) covers the configured and
// the stored public clients, not confidential ones; a stored client added later is seen once
// the cached list of stored clients' origins is older than its lifetime — a miss does not read
// the store again at once.
func TestKnownOrigin(t *testing.T) {
	ctx := context.Background()
	spa, err := oauth.NewClient(oauth.ClientConfig{ID: "spa", RedirectURIs: []string{"https://spa.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	s := memory.New()
	if err := s.CreateClient(ctx, store.Client{ID: "dyn", RedirectURIs: []string{"https://dyn.test/cb"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, store.Client{ID: "dynconf", SecretHash: "00", RedirectURIs: []string{"https://conf.test/cb"}}); err != nil {
		t.Fatal(err)
	}
	p := &oauth.Server{Store: s, Configured: map[string]*oauth.Client{"spa": spa}}
	for o, want := range map[string]bool{"https://spa.test": true, "https://dyn.test": true, "https://conf.test": false,
		"https://evil.test": false, "": false} {
		if got := p.KnownOrigin(ctx, o); got != want {
			t.Errorf("KnownOrigin(%q) = %v, want %v", o, got, want)
		}
	}
	if err := s.CreateClient(ctx, store.Client{ID: "later", RedirectURIs: []string{"https://later.test/cb"}}); err != nil {
		t.Fatal(err)
	}
	if p.KnownOrigin(ctx, "https://later.test") {
		t.Error("a miss re-read the store at once")
	}
}
