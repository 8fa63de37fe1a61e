package e2e

// Shared helpers of the conformance suite (conformance_oc_test.go, conformance_as_test.go,
// conformance_jw_test.go, conformance_features_test.go): one test per row of
// /work/shared/THREATS.md sections 1-3, each starting its own Gatehouse (a fresh Badger and
// Caddy config costs ~0.1 s, so isolation is cheaper than ordering tests around a shared
// one).

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/keys"
)

// cfUser is the conformance suite's user (created by cfStart).
const cfUser = "ada@example.test"

// cfSecretBasic is rp-basic's secret: characters client_secret_basic must form-encode.
const cfSecretBasic = "basic+secret/with:colon=0123456789"

// cfSecretPost is rp-post's secret.
const cfSecretPost = "post-secret-0123456789abcdef"

// cfSecretSvc is the machine client svc's secret.
const cfSecretSvc = "svc-secret-0123456789abcdef"

// cfSecretAPI is the secret of urn:api, a resource server that introspects tokens meant for
// it.
const cfSecretAPI = "api-secret-0123456789abcdef"

// cfClients are the relying parties of the conformance suite.
const cfClients = `
		client app {
			name "Test app"
			redirect_uri {{.App}}/.gatehouse/callback {{.RP}}/app-cb
			scopes openid profile email offline_access read:docs write:docs
			resource https://api.test https://other.test urn:api
		}
		client urn:api {
			name "Resource server"
			secret api-secret-0123456789abcdef
			grant_types client_credentials
			scopes read:docs
		}
		client svc {
			name "Machine client"
			secret svc-secret-0123456789abcdef
			grant_types client_credentials
			scopes read:docs write:docs
			resource https://api.test
		}
		client rp-public {
			name "Public RP"
			redirect_uri {{.RP}}/cb
			post_logout_redirect_uri {{.RP}}/bye
			scopes openid profile email phone address offline_access
		}
		client rp-basic {
			name "Basic RP"
			secret "basic+secret/with:colon=0123456789"
			redirect_uri {{.RP}}/cb-basic
			post_logout_redirect_uri {{.RP}}/bye-basic
			scopes openid profile email phone address offline_access
		}
		client rp-post {
			secret post-secret-0123456789abcdef
			redirect_uri {{.RP}}/cb-post
			scopes openid profile email offline_access
		}
		client rp-two {
			redirect_uri {{.RP}}/one {{.RP}}/two
		}
		client rp-query {
			redirect_uri {{.RP}}/q?x=1 {{.RP}}/plain
		}
		client rp-https {
			secret https-secret-0123456789abcdef
			redirect_uri https://rp.test/cb
		}
		client rp-pkce {
			secret pkce-secret-0123456789abcdef
			redirect_uri {{.RP}}/cb-pkce
			pkce required
		}`

// cfSites protects App per path: /admin/* needs group admins, /write/* scope write:docs,
// /aud/* audience other-api, /api/* audience https://api.test with scope read:docs,
// everything else scope read:docs (audience app).
const cfSites = `
{{.App}} {
	bind 127.0.0.1
	handle /admin/* {
		gatehouse_protect {
			client app
			group admins
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /write/* {
		gatehouse_protect {
			client app
			scope write:docs
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /aud/* {
		gatehouse_protect {
			client app
			audience other-api
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /api/* {
		gatehouse_protect {
			client app
			audience https://api.test
			scope read:docs
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle {
		gatehouse_protect {
			client app
			scope read:docs
		}
		reverse_proxy {{.UpstreamAddr}}
	}
}`

// cfStart starts Gatehouse with the suite's clients (plus extra client blocks or options)
// and sites, creates cfUser (groups staff, eng) and returns the environment, the user ID and
// a browser logged in at the portal.
func cfStart(t *testing.T, extra ...string) (*Env, string, *Browser) {
	t.Helper()
	e := Start(t, Config{Gatehouse: cfClients + strings.Join(extra, "\n"), Sites: cfSites})
	id := e.CreateUser(cfUser, "staff", "eng")
	b := NewBrowser(t)
	e.PortalLogin(b, cfUser, Password)
	return e, id, b
}

// cfFlow is one authorization-code flow: the authorization request's parameters (with PKCE),
// the verifier, and the client's credentials ("" secret: a public client).
type cfFlow struct {
	Params   url.Values
	Verifier string
	Client   string
	Secret   string
}

// cfNewFlow prepares an authorization request for client at redirectURI with scope.
func cfNewFlow(client, secret, redirectURI, scope string) *cfFlow {
	p, v := AuthParams(client, redirectURI, scope)
	return &cfFlow{Params: p, Verifier: v, Client: client, Secret: secret}
}

// tokenForm returns the token request for code (with client_id and verifier when the
// request had PKCE).
func (f *cfFlow) tokenForm(code string) url.Values {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.Params.Get("redirect_uri")}}
	if f.Params.Get("code_challenge") != "" {
		form.Set("code_verifier", f.Verifier)
	}
	if f.Secret == "" {
		form.Set("client_id", f.Client)
	}
	return form
}

// redeem posts the token request for code, with client_secret_basic for a confidential
// client.
func (f *cfFlow) redeem(e *Env, code string) *Resp {
	e.t.Helper()
	if f.Secret != "" {
		return e.Token(f.tokenForm(code), f.Client, f.Secret)
	}
	return e.Token(f.tokenForm(code))
}

// cfTokens runs the flow with a logged-in browser and returns the token response (fatal on
// failure).
func cfTokens(t *testing.T, e *Env, b *Browser, f *cfFlow) map[string]any {
	t.Helper()
	q := e.T(t).Authorize(b, f.Params)
	if q.Get("code") == "" {
		t.Fatalf("authorize %s: no code: %v", f.Client, q)
	}
	r := f.redeem(e.T(t), q.Get("code"))
	if r.Status != http.StatusOK {
		t.Fatalf("token %s: %s", f.Client, r)
	}
	return r.JSON(t)
}

// cfAppTokens runs the code flow for the protected site's client app (scope openid email
// read:docs unless given) and returns the token response.
func cfAppTokens(t *testing.T, e *Env, b *Browser, scope ...string) map[string]any {
	t.Helper()
	sc := "openid email read:docs"
	if len(scope) > 0 {
		sc = scope[0]
	}
	return cfTokens(t, e, b, cfNewFlow("app", "", e.RP+"/app-cb", sc))
}

// cfPublicTokens runs the code flow for rp-public with scope.
func cfPublicTokens(t *testing.T, e *Env, b *Browser, scope string) map[string]any {
	t.Helper()
	return cfTokens(t, e, b, cfNewFlow("rp-public", "", e.RP+"/cb", scope))
}

// cfStr returns m[k] as a string.
func cfStr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// cfClaims decodes a JWT's header and payload without verifying it (numbers as
// json.Number).
func cfClaims(t *testing.T, tok string) (hdr, claims map[string]any) {
	t.Helper()
	h, c, _ := splitJWT(t, tok)
	return h, c
}

// cfNum returns a numeric claim as int64 (0 if absent or not an integer).
func cfNum(m map[string]any, k string) int64 {
	switch v := m[k].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	}
	return 0
}

// ---------------------------------------------------------------------------------------
// JWKS verification, independent of Gatehouse's own verifier.

type cfJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// cfJWKS fetches /jwks and returns the keys and the raw members of each key.
func cfJWKS(t *testing.T, e *Env) ([]cfJWK, []map[string]any) {
	t.Helper()
	r := Get(t, e.Issuer+"/jwks", "")
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %s", r)
	}
	var set struct {
		Keys []cfJWK `json:"keys"`
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	_ = json.Unmarshal(r.Body, &raw)
	return set.Keys, raw.Keys
}

func (k cfJWK) public() (crypto.PublicKey, error) {
	dec := base64.RawURLEncoding.DecodeString
	switch k.Kty {
	case "RSA":
		n, err1 := dec(k.N)
		ee, err2 := dec(k.E)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad RSA members")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ee).Int64())}, nil
	case "EC":
		x, err1 := dec(k.X)
		y, err2 := dec(k.Y)
		if err1 != nil || err2 != nil || k.Crv != "P-256" {
			return nil, errors.New("bad EC members")
		}
		return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, nil
	case "OKP":
		x, err := dec(k.X)
		if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad OKP members")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unknown kty %q", k.Kty)
}

// cfVerify verifies tok's signature with the key its kid names in /jwks, requiring the
// header alg to equal the JWK's alg, and returns header and claims.
func cfVerify(t *testing.T, e *Env, tok string) (map[string]any, map[string]any, error) {
	t.Helper()
	set, _ := cfJWKS(t, e)
	hdr, claims := cfClaims(t, tok)
	kid, _ := hdr["kid"].(string)
	alg, _ := hdr["alg"].(string)
	for _, k := range set {
		if k.Kid != kid {
			continue
		}
		if k.Alg != alg {
			return hdr, claims, fmt.Errorf("header alg %q, JWK alg %q", alg, k.Alg)
		}
		pub, err := k.public()
		if err != nil {
			return hdr, claims, err
		}
		m := jwt.GetSigningMethod(alg)
		if m == nil {
			return hdr, claims, fmt.Errorf("unknown alg %q", alg)
		}
		i := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
		if err != nil {
			return hdr, claims, err
		}
		if err := m.Verify(tok[:i], sig, pub); err != nil {
			return hdr, claims, fmt.Errorf("signature: %w", err)
		}
		return hdr, claims, nil
	}
	return hdr, claims, fmt.Errorf("kid %q is not in /jwks", kid)
}

// cfMustVerify is cfVerify failing the test on error.
func cfMustVerify(t *testing.T, e *Env, tok string) (map[string]any, map[string]any) {
	t.Helper()
	h, c, err := cfVerify(t, e, tok)
	if err != nil {
		t.Fatalf("verify %s with /jwks: %v", truncate(tok, 40), err)
	}
	return h, c
}

// ---------------------------------------------------------------------------------------
// Forging tokens with Gatehouse's real keys (white-box), byte-exact.

// cfSigner returns the key that signs for alg now.
func cfSigner(t *testing.T, alg string) *keys.Key {
	t.Helper()
	k, err := Provider(t).Keys.Signer(alg)
	if err != nil {
		t.Fatalf("signer %s: %v", alg, err)
	}
	return k
}

// cfSignRaw signs the exact header and payload JSON with key using the JWS algorithm alg
// (which may differ from the key's own algorithm, to forge algorithm substitutions).
func cfSignRaw(t *testing.T, key *keys.Key, alg, header, payload string) string {
	t.Helper()
	signing := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		t.Fatalf("unknown alg %s", alg)
	}
	var k any = key.Signer
	if ek, ok := key.Signer.(ed25519.PrivateKey); ok {
		k = ek
	}
	sig, err := m.Sign(signing, k)
	if err != nil {
		t.Fatalf("sign %s with %s key: %v", alg, key.Alg, err)
	}
	return signing + "." + b64.EncodeToString(sig)
}

// cfHeader is the JOSE header Gatehouse writes for key and typ.
func cfHeader(key *keys.Key, typ string) string {
	return fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":%q}`, key.Alg, key.ID, typ)
}

// cfResign copies tok's claims, lets mod change them and signs the result with the current
// RS256 key as an access token (mod sees json.Number values).
func cfResign(t *testing.T, tok string, mod func(map[string]any)) string {
	t.Helper()
	_, c := cfClaims(t, tok)
	mod(c)
	p, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	key := cfSigner(t, "RS256")
	return cfSignRaw(t, key, "RS256", cfHeader(key, "at+jwt"), string(p))
}

// cfRejected asserts that tok is refused with 401 invalid_token at the protected route
// /docs and at /userinfo, and never reaches the upstream.
func cfRejected(t *testing.T, e *Env, what, tok string) {
	t.Helper()
	before := e.Upstream.Count()
	r := Get(t, e.App+"/docs", tok)
	if r.Status != http.StatusUnauthorized || !strings.Contains(wwwAuth(r), `error="invalid_token"`) {
		t.Errorf("%s: protected route answered %s (WWW-Authenticate %q), want 401 invalid_token", what, r, wwwAuth(r))
	}
	if u := e.Userinfo(tok); u.Status != http.StatusUnauthorized && u.Status != http.StatusBadRequest {
		t.Errorf("%s: /userinfo answered %s, want 401", what, u)
	}
	if n := e.Upstream.Count(); n != before {
		t.Errorf("%s: the request reached the upstream", what)
	}
}

// cfRefused asserts that tok is refused at /docs and /userinfo with 400, 401 or 431 (a
// request the server cannot even parse as a bearer credential) and never reaches the
// upstream.
func cfRefused(t *testing.T, e *Env, what, tok string) {
	t.Helper()
	before := e.Upstream.Count()
	for _, target := range []string{e.App + "/docs", e.Issuer + "/userinfo"} {
		r := Get(t, target, tok)
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest && r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: %s, want 400/401/431", what, r)
		}
	}
	if n := e.Upstream.Count(); n != before {
		t.Errorf("%s: the request reached the upstream", what)
	}
}

// cfAccepted asserts that tok passes the protected route /docs (the control of a forgery
// test).
func cfAccepted(t *testing.T, e *Env, what, tok string) {
	t.Helper()
	if r := Get(t, e.App+"/docs", tok); r.Status != http.StatusOK {
		t.Fatalf("%s (control): protected route answered %s", what, r)
	}
}

// ---------------------------------------------------------------------------------------
// Authorization-endpoint assertions.

// cfAuthorizeRaw sends one authorization request from browser b without following the
// answer.
func cfAuthorizeRaw(t *testing.T, e *Env, b *Browser, params url.Values) *Resp {
	t.Helper()
	return b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil)
}

// cfErrorPage asserts an error page (4xx HTML, no redirect) containing code.
func cfErrorPage(t *testing.T, what string, r *Resp, code string) {
	t.Helper()
	if r.Status < 400 || r.Status > 499 || r.Header.Get("Location") != "" {
		t.Errorf("%s: want an error page without redirect, got %s (Location %q)", what, r, r.Header.Get("Location"))
		return
	}
	if code != "" && !bytes.Contains(r.Body, []byte(code)) {
		t.Errorf("%s: error page does not name %s: %s", what, code, r)
	}
}

// cfErrorRedirect asserts an authorization error response at redirect URI ru: error=code,
// state and iss, and no code.
func cfErrorRedirect(t *testing.T, e *Env, what string, r *Resp, ru, state, code string) url.Values {
	t.Helper()
	if r.Status != http.StatusFound {
		t.Errorf("%s: want a redirect to the client, got %s", what, r)
		return nil
	}
	loc := r.Location(t)
	if !strings.HasPrefix(loc.String(), ru+"?") || loc.Fragment != "" {
		t.Errorf("%s: redirected to %s, want %s?...", what, loc, ru)
	}
	q := loc.Query()
	if q.Get("error") != code || q.Get("code") != "" || q.Get("state") != state || q.Get("iss") != e.Issuer {
		t.Errorf("%s: authorization response %v, want error=%s with state %q and iss", what, q, code, state)
	}
	return q
}

// ---------------------------------------------------------------------------------------
// Listeners.

// cfListener records every request it receives (an attacker's server, or a relying
// party's back-channel logout endpoint).
type cfListener struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []cfRecorded
	got  chan struct{}
}

type cfRecorded struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
}

func cfListen(t *testing.T) *cfListener {
	t.Helper()
	l := &cfListener{got: make(chan struct{}, 100)}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		l.mu.Lock()
		l.reqs = append(l.reqs, cfRecorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: r.PostForm})
		l.mu.Unlock()
		select {
		case l.got <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *cfListener) URL() string { return l.srv.URL }

func (l *cfListener) Requests() []cfRecorded {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]cfRecorded(nil), l.reqs...)
}

// wait waits until the listener holds at least n requests (false on timeout).
func (l *cfListener) wait(n int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if len(l.Requests()) >= n {
			return true
		}
		select {
		case <-l.got:
		case <-deadline:
			return len(l.Requests()) >= n
		}
	}
}

// cfS256 returns the PKCE S256 challenge of verifier.
func cfS256(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// cfSHA256Half returns the OIDC at_hash of an access token (RS256/ES256: SHA-256).
func cfSHA256Half(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:16])
}
