package e2e

// The signed identity assertion (issue 17, README "Signed identity assertion") end to end:
// real Caddy, the portal publishing the assertion keys, and upstreams that run the README's
// verifier (examples/assertion) on every request they get.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/examples/assertion"
)

// verifyingUpstream answers 200 with the assertion's sub when the README's Verify accepts
// the request, 403 with the error otherwise, and keeps the last request it got.
type verifyingUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	last *http.Request
}

func newVerifyingUpstream(t *testing.T, issuer, origin *string) *verifyingUpstream {
	u := &verifyingUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.last = r.Clone(r.Context())
		u.mu.Unlock()
		claims, err := assertion.Verify(r, *issuer, *origin)
		if err != nil {
			http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("sub=" + claims["sub"].(string) + " email=" + claims["email"].(string)))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *verifyingUpstream) addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

// replay is the upstream's last request again, as an app would see it with method and path
// changed (an attacker replaying a captured assertion elsewhere).
func (u *verifyingUpstream) replay(t *testing.T, method, path string) *http.Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		t.Fatal("the upstream got no request")
	}
	r := httptest.NewRequest(method, "http://"+u.last.Host+path, nil)
	r.Header = u.last.Header.Clone()
	return r
}

const assertionSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect /docs/* {
		client app
		scope read:docs
		assertion
	}
	reverse_proxy VERIFY1
}

{{.App2}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		scope read:docs
		assertion {
			lifetime 1s
		}
	}
	reverse_proxy VERIFY2
}`

const assertionClient = `
		client app {
			name "Test app"
			redirect_uri {{.App}}/.gatehouse/callback {{.App2}}/.gatehouse/callback {{.RP}}/app-cb
			scopes openid profile email offline_access read:docs
		}`

// TestAssertion: the README's verifier, run by the upstream, accepts the assertion for the
// request it came with and refuses it for another route's site (aud), an altered path, a
// different method, after its exp (RFC 7519 §4.1.4: it "MUST NOT be accepted for processing"
// on or after that time), and when the client forged the header (PX-01: a client-sent
// X-Gatehouse-Assertion never reaches the upstream).
func TestAssertion(t *testing.T) {
	var issuer, origin1, origin2 string
	v1 := newVerifyingUpstream(t, &issuer, &origin1)
	v2 := newVerifyingUpstream(t, &issuer, &origin2)
	sites := strings.NewReplacer("VERIFY1", v1.addr(), "VERIFY2", v2.addr()).Replace(assertionSites)
	e := Start(t, Config{Gatehouse: assertionClient, Sites: sites})
	issuer, origin1, origin2 = e.Issuer, e.App, e.App2

	// The keys: Ed25519 only, none of them an OpenID Connect signing key.
	keysResp := Get(t, e.Issuer+"/.well-known/gatehouse-assertion-keys", "")
	var set struct {
		Keys []struct{ Kty, Crv, Alg, Kid string }
	}
	if keysResp.Status != http.StatusOK || json.Unmarshal(keysResp.Body, &set) != nil || len(set.Keys) == 0 {
		t.Fatalf("assertion keys: %s", keysResp)
	}
	oidcKeys := Get(t, e.Issuer+"/jwks", "")
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || strings.Contains(string(oidcKeys.Body), k.Kid) {
			t.Fatalf("assertion key %+v (OIDC keys: %s)", k, oidcKeys)
		}
	}

	aliceID := e.CreateUser("alice@example.test", "staff")
	b := NewBrowser(t)
	e.PortalLogin(b, "alice@example.test", Password)
	alice := e.AccessToken(b, "openid email read:docs")

	// The right route: the upstream's verifier accepts it.
	r := Get(t, e.App+"/docs/page", alice)
	if r.Status != http.StatusOK || string(r.Body) != "sub="+aliceID+" email=alice@example.test" {
		t.Fatalf("verified request: %s", r)
	}
	// The same request verified again by the app: fine; any change is refused.
	if _, err := assertion.Verify(v1.replay(t, "GET", "/docs/page"), e.Issuer, e.App); err != nil {
		t.Fatalf("replay of the same request refused: %v", err)
	}
	for name, tc := range map[string]struct {
		req    *http.Request
		origin string
	}{
		"another route's site": {v1.replay(t, "GET", "/docs/page"), e.App2},
		"altered path":         {v1.replay(t, "GET", "/docs/other"), e.App},
		"different method":     {v1.replay(t, "DELETE", "/docs/page"), e.App},
	} {
		if _, err := assertion.Verify(tc.req, e.Issuer, tc.origin); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	captured := v1.replay(t, "GET", "/docs/page").Header.Get("X-Gatehouse-Assertion")

	// Spoofed: another user sends Alice's valid assertion; the upstream gets Bob's own.
	bobID := e.CreateUser("bob@example.test")
	b2 := NewBrowser(t)
	e.PortalLogin(b2, "bob@example.test", Password)
	bob := e.AccessToken(b2, "openid email read:docs")
	req := NewRequest(t, http.MethodGet, e.App+"/docs/page", nil)
	req.Header.Set("Authorization", "Bearer "+bob)
	req.Header.Set("X-Gatehouse-Assertion", captured)
	req.Header.Set("X_Gatehouse_Assertion", captured)
	if r := Do(t, API, req); r.Status != http.StatusOK || string(r.Body) != "sub="+bobID+" email=bob@example.test" {
		t.Fatalf("spoofed header on a protected route: %s", r)
	}
	if got := v1.replay(t, "GET", "/docs/page").Header.Values("X-Gatehouse-Assertion"); len(got) != 1 || got[0] == captured {
		t.Fatalf("upstream got assertion headers %q", got)
	}
	// ... and on a route outside the matcher, without a credential, the header is stripped:
	// the upstream has nothing to verify.
	req = NewRequest(t, http.MethodGet, e.App+"/public", nil)
	req.Header.Set("X-Gatehouse-Assertion", captured)
	if r := Do(t, API, req); r.Status != http.StatusForbidden {
		t.Fatalf("spoofed header outside the protected path: %s", r)
	}
	if h := v1.replay(t, "GET", "/public").Header.Get("X-Gatehouse-Assertion"); h != "" {
		t.Fatal("a client-sent assertion reached the upstream")
	}
	// Without a credential on the protected path: 401 from the gateway, nothing upstream.
	req = NewRequest(t, http.MethodGet, e.App+"/docs/page", nil)
	req.Header.Set("X-Gatehouse-Assertion", captured)
	if r := Do(t, API, req); r.Status != http.StatusUnauthorized {
		t.Fatalf("spoofed header without a credential: %s", r)
	}

	// Expiry (App2, lifetime 1s): verified at once, refused once exp has passed; a new
	// request gets a fresh one.
	if r := Get(t, e.App2+"/x", alice); r.Status != http.StatusOK {
		t.Fatalf("App2: %s", r)
	}
	late := v2.replay(t, "GET", "/x")
	if _, err := assertion.Verify(late, e.Issuer, e.App2); err != nil {
		t.Fatalf("fresh App2 assertion refused: %v", err)
	}
	time.Sleep(2100 * time.Millisecond)
	if _, err := assertion.Verify(late, e.Issuer, e.App2); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired assertion: %v", err)
	}
	if r := Get(t, e.App2+"/x", alice); r.Status != http.StatusOK {
		t.Fatalf("App2 after expiry: %s", r)
	}
}
