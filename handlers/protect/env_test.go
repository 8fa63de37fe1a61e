package protect

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The protected site and the portal of these tests.
const (
	testIssuer   = "https://login.test"
	testSite     = "https://app.test"
	testCallback = testSite + DefaultCallbackPath
)

// testClock is a settable clock starting at the wall clock (Badger expires records by the
// wall clock).
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := new(testClock)
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is a real identity provider (as module/app.go Provision builds it) on an in-memory
// store, with one public client for the protected site and one user.
type env struct {
	t      testing.TB
	ctx    context.Context
	clk    *testClock
	store  store.Store
	ring   *keys.Ring
	p      *idp.Provider
	client *idp.Client
	user   store.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	clk := newTestClock()
	s := memory.New()
	ring, err := keys.Load(ctx, s, keys.Algorithms, clk.Now)
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	client, err := idp.NewClient(idp.ClientConfig{ID: "web", Name: "Web",
		RedirectURIs: []string{testCallback},
		Scopes:       []string{"openid", "profile", "email", "offline_access", "read", "write"}})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	rl := tokens.NewRevocationList(clk.Now, time.Minute)
	if err := rl.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	p, err := idp.New(idp.Config{Issuer: testIssuer, TenantID: "t1", SignupMode: idp.SignupClosed},
		s, ring, password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, 0), rl,
		[]*idp.Client{client}, clk.Now, nil)
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	u, err := p.CreateUser(ctx, idp.NewUser{Email: "Alice@Example.com", FirstName: "Alice", Groups: []string{"staff", "admins"}, EmailVerified: true})
	if err != nil {
		t.Fatalf("user: %v", err)
	}
	return &env{t: t, ctx: ctx, clk: clk, store: s, ring: ring, p: p, client: client, user: u}
}

// guard builds a Guard for the site with rule and the default headers, as module/protect.go
// Provision does.
func (e *env) guard(rule policy.Rule) *Guard { e.t.Helper(); return e.guardWith(rule, nil) }

// guardWith is guard with the route's metrics m.
func (e *env) guardWith(rule policy.Rule, m *metrics.Route) *Guard {
	e.t.Helper()
	g := &Guard{Metrics: m, Provider: e.p, ClientID: "web", Rule: rule, Headers: mustCompile(e.t, DefaultHeaders),
		CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1")}
	if err := g.Init(); err != nil {
		e.t.Fatalf("Init: %v", err)
	}
	return g
}

// authorize runs the portal's side of a login for e.user: a validated authorization
// request (q), a fresh session, and an authorization code for it.
func (e *env) authorize(q url.Values) (code string, sess store.Session) {
	e.t.Helper()
	req, _, oerr := e.p.ParseAuthRequest(e.ctx, q)
	if oerr != nil {
		e.t.Fatalf("authorization request refused: %v", oerr)
	}
	_, sess, err := e.p.StartSession(e.ctx, e.user, []string{"pwd"}, idp.SessionMeta{})
	if err != nil {
		e.t.Fatal(err)
	}
	code, err = e.p.IssueCode(e.ctx, req, sess)
	if err != nil {
		e.t.Fatal(err)
	}
	return code, sess
}

// login performs a complete authorization-code flow with PKCE and returns the tokens and
// the session they belong to.
func (e *env) login(scopes ...string) (*idp.TokenResponse, store.Session) {
	e.t.Helper()
	verifier := secret.New(32)
	sum := sha256.Sum256([]byte(verifier))
	code, sess := e.authorize(url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {testCallback},
		"scope": {strings.Join(scopes, " ")}, "state": {"s"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}})
	resp, oerr := e.p.ExchangeCode(e.ctx, e.client, code, testCallback, verifier)
	if oerr != nil {
		e.t.Fatalf("ExchangeCode: %v", oerr)
	}
	return resp, sess
}

// storeRevocation is the entry another instance writes when the session sid logs out.
func storeRevocation(sid string, now time.Time) store.Revocation {
	return store.Revocation{Kind: store.RevokeSession, Subject: sid, At: now, ExpiresAt: now.Add(time.Hour)}
}

// sealFor returns the session cookie value g sets for the cookie name after a login that
// returned the tokens at and rt.
func sealFor(t testing.TB, g *Guard, name, at, rt string) string {
	t.Helper()
	v, err := g.sealer.seal(name, sealedCookie{Client: g.ClientID, AccessToken: at, RefreshToken: rt})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
