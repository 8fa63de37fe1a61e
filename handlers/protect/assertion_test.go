package protect

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/examples/assertion"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// assertEnv is an env whose guard adds assertions signed by a dedicated ring published (as
// the portal does) at <issuer>/.well-known/gatehouse-assertion-keys by a test server, which
// is also the issuer the example verifier checks.
func assertEnv(t testing.TB, lifetime time.Duration) (*env, *Guard, *keys.Ring, string) {
	t.Helper()
	e := newEnv(t)
	ar, err := keys.LoadAssertion(e.ctx, e.store, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/gatehouse-assertion-keys" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(ar.JWKS())
	}))
	t.Cleanup(srv.Close)
	g := &Guard{Provider: e.p, ClientID: "web", Rule: policy.Rule{Audience: []string{"web"}}, Headers: mustCompile(t, DefaultHeaders),
		CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1"),
		Assertion: &Asserter{Keys: ar, Issuer: srv.URL, Lifetime: lifetime}}
	if err := g.Init(); err != nil {
		t.Fatal(err)
	}
	return e, g, ar, srv.URL
}

// upstreamRequest is what the upstream receives for r after the guard let it through: the
// same method, path and headers (reverse_proxy keeps them), at the upstream's origin.
func upstreamRequest(r *http.Request, method, path string) *http.Request {
	u := httptest.NewRequest(method, testSite+path, nil)
	u.Header = r.Header.Clone()
	return u
}

// TestAssertionVerifiesWithTheExample: the README's verifier accepts the assertion for the
// request it came with, and refuses it for another site (aud), another path, another method,
// or a forged one; a client-sent X-Gatehouse-Assertion never reaches the upstream.
func TestAssertionVerifiesWithTheExample(t *testing.T) {
	e, g, _, iss := assertEnv(t, 0)
	resp, _ := e.login("openid", "email", "profile")
	r := bearerRequest(resp.AccessToken)
	r.Header.Set("X-Gatehouse-Assertion", "forged")
	r.Header["x_gatehouse_assertion"] = []string{"forged"}
	w, id := serve(g, r)
	if id == nil {
		t.Fatalf("refused: %d %s", w.Code, w.Body)
	}
	if got := r.Header.Values("X-Gatehouse-Assertion"); len(got) != 1 || got[0] == "forged" || len(r.Header["x_gatehouse_assertion"]) != 0 {
		t.Fatalf("assertion headers upstream = %q, %q", got, r.Header["x_gatehouse_assertion"])
	}
	claims, err := assertion.Verify(upstreamRequest(r, "GET", "/docs"), iss, testSite)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims["sub"] != e.user.ID || claims["email"] != "alice@example.com" || claims["iss"] != iss {
		t.Fatalf("claims = %v", claims)
	}
	if gs, _ := claims["groups"].([]any); len(gs) != 2 {
		t.Fatalf("groups = %v", claims["groups"])
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat < DefaultAssertionLifetime.Seconds() || exp-iat > DefaultAssertionLifetime.Seconds()+1 {
		t.Fatalf("exp - iat = %v", exp-iat)
	}
	for name, u := range map[string]*http.Request{
		"another site":   withOrigin(upstreamRequest(r, "GET", "/docs"), "https://other.test"),
		"altered path":   upstreamRequest(r, "GET", "/admin"),
		"another method": upstreamRequest(r, "DELETE", "/docs"),
		"forged":         withHeader(upstreamRequest(r, "GET", "/docs"), "X-Gatehouse-Assertion", "forged"),
		"missing":        withHeader(upstreamRequest(r, "GET", "/docs"), "X-Gatehouse-Assertion", ""),
	} {
		origin := testSite
		if name == "another site" {
			origin = "https://other.test" // the assertion was made for app.test
		}
		if _, err := assertion.Verify(u, iss, origin); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func withOrigin(r *http.Request, origin string) *http.Request {
	r.Host = strings.TrimPrefix(origin, "https://")
	return r
}

// TestAssertionExpires: an assertion replayed after its exp is refused (RFC 7519 §4.1.4:
// "the JWT MUST NOT be accepted for processing" on or after exp).
func TestAssertionExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	// The test clock starts up to a second behind the wall clock, which Verify uses.
	e, g, _, iss := assertEnv(t, 2*time.Second)
	resp, _ := e.login("openid", "email")
	r := bearerRequest(resp.AccessToken)
	if _, id := serve(g, r); id == nil {
		t.Fatal("refused")
	}
	if _, err := assertion.Verify(upstreamRequest(r, "GET", "/docs"), iss, testSite); err != nil {
		t.Fatalf("fresh assertion refused: %v", err)
	}
	time.Sleep(3100 * time.Millisecond)
	if _, err := assertion.Verify(upstreamRequest(r, "GET", "/docs"), iss, testSite); err == nil {
		t.Fatal("expired assertion verified")
	}
}

// TestAssertionReuse: an assertion is signed once per credential, site, method and path and
// reused while more than half its lifetime remains; a new one follows after that, and for
// another path or method.
func TestAssertionReuse(t *testing.T) {
	e, g, _, _ := assertEnv(t, time.Minute)
	resp, _ := e.login("openid")
	get := func(method, path string) string {
		r := httptest.NewRequest(method, testSite+path, nil)
		r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
		if w, id := serve(g, r); id == nil {
			t.Fatalf("%s %s refused: %d %s", method, path, w.Code, w.Body)
		}
		return r.Header.Get("X-Gatehouse-Assertion")
	}
	a := get("GET", "/docs")
	if get("GET", "/docs") != a {
		t.Fatal("not reused")
	}
	if get("GET", "/other") == a || get("POST", "/docs") == a {
		t.Fatal("reused for another request")
	}
	e.clk.Advance(31 * time.Second)
	if get("GET", "/docs") == a {
		t.Fatal("reused past half its lifetime")
	}
}

// TestAssertionSite: aud is scheme://host as the request reached the gateway, lower case,
// without the default port.
func TestAssertionSite(t *testing.T) {
	for in, want := range map[string]string{"App.Test": "http://app.test", "app.test:80": "http://app.test", "app.test:8080": "http://app.test:8080"} {
		r := httptest.NewRequest("GET", "http://x/", nil)
		r.Host = in
		if got := Site(r); got != want {
			t.Errorf("Site(%q) = %q, want %q", in, got, want)
		}
	}
	r := httptest.NewRequest("GET", "https://App.Test:443/", nil)
	if got := Site(r); got != "https://app.test" {
		t.Errorf("Site(https) = %q", got)
	}
}

// TestJW01_JW02_AssertionForgeries: the README's verifier refuses an assertion with alg
// "none" (RFC 8725 §3.1), one MACed with HS256 under the published public key (algorithm
// confusion), and one signed by a Gatehouse OpenID Connect key (the dedicated ring is the
// only one the assertion JWK Set publishes).
func TestJW01_JW02_AssertionForgeries(t *testing.T) {
	e, g, ar, iss := assertEnv(t, 0)
	resp, _ := e.login("openid", "email")
	r := bearerRequest(resp.AccessToken)
	if _, id := serve(g, r); id == nil {
		t.Fatal("refused")
	}
	good := r.Header.Get("X-Gatehouse-Assertion")
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding
	k, _ := ar.Signer(keys.EdDSA)
	pub := k.Public.(ed25519.PublicKey)
	hs := func(header string) string {
		in := b64.EncodeToString([]byte(header)) + "." + parts[1]
		m := hmac.New(sha256.New, []byte(b64.EncodeToString(pub)))
		m.Write([]byte(in))
		return in + "." + b64.EncodeToString(m.Sum(nil))
	}
	// Signed with the OIDC EdDSA key, everything else right.
	oidc := &Asserter{Keys: e.ring, Issuer: iss}
	if err := oidc.Init(); err != nil {
		t.Fatal(err)
	}
	id := newIdentity(&tokens.AccessClaims{Subject: e.user.ID}, nil)
	ok, err := oidc.Assertion(id, r, e.clk.Now())
	if err != nil || ok == "" {
		t.Fatalf("sign with the OIDC key: %v", err)
	}
	for name, tok := range map[string]string{
		"alg none":      b64.EncodeToString([]byte(`{"alg":"none","kid":"`+k.ID+`"}`)) + "." + parts[1] + ".",
		"HS256 with x":  hs(`{"alg":"HS256","kid":"` + k.ID + `"}`),
		"OIDC key":      ok,
		"bad signature": parts[0] + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 64)),
		"other claims":  parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2],
	} {
		u := upstreamRequest(r, "GET", "/docs")
		u.Header.Set("X-Gatehouse-Assertion", tok)
		if _, err := assertion.Verify(u, iss, testSite); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// The control: the genuine one verifies.
	if _, err := assertion.Verify(upstreamRequest(r, "GET", "/docs"), iss, testSite); err != nil {
		t.Fatal(err)
	}
}

// TestPX01_AssertionCustomHeaderStripped: a configured assertion header name joins the
// names every Gatehouse handler of the configuration strips, so a client cannot forge it on
// this route (in any spelling) nor on another route that does not send an assertion.
func TestPX01_AssertionCustomHeaderStripped(t *testing.T) {
	e := newEnv(t)
	ar, err := keys.LoadAssertion(e.ctx, e.store, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	names := NewNames()
	mk := func(a *Asserter) *Guard {
		g := &Guard{Provider: e.p, ClientID: "web", Rule: policy.Rule{Audience: []string{"web"}}, Names: names,
			CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
			CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1"), Assertion: a}
		if err := g.Init(); err != nil {
			t.Fatal(err)
		}
		return g
	}
	withAssertion := mk(&Asserter{Keys: ar, Issuer: testIssuer, Header: "x-my-name"})
	without := mk(nil)
	resp, _ := e.login("openid")

	r := bearerRequest(resp.AccessToken)
	r.Header.Set("X-My-Name", "forged")
	r.Header["x_my_name"] = []string{"forged"}
	if _, id := serve(withAssertion, r); id == nil {
		t.Fatal("refused")
	}
	if got := r.Header.Values("X-My-Name"); len(got) != 1 || got[0] == "forged" || strings.Count(got[0], ".") != 2 || r.Header["x_my_name"] != nil {
		t.Fatalf("X-My-Name upstream = %q (x_my_name %q)", got, r.Header["x_my_name"])
	}
	if r.Header.Get("X-Gatehouse-Assertion") != "" {
		t.Fatal("the default header is set too")
	}

	r = bearerRequest(resp.AccessToken)
	r.Header.Set("X-My-Name", "forged")
	if _, id := serve(without, r); id == nil {
		t.Fatal("refused")
	}
	if v := r.Header.Get("X-My-Name"); v != "" {
		t.Fatalf("a route without assertion passed the forged X-My-Name %q", v)
	}
}
