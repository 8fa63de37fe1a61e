package idp_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const (
	issuer    = "https://login.example.com"
	webCB     = "https://rp.test/cb"
	webCB2    = "https://rp.test/other-cb"
	cliCB     = "http://127.0.0.1:8765/callback"
	webSecret = "0123456789abcdef-web-secret"
)

// fastHash keeps argon2id cheap where its cost is not the point.
var fastHash = password.Params{Memory: 64, Time: 1, Threads: 1}

// clock is a settable clock starting at the wall clock (Badger expires records by the wall
// clock, so the store must not be asked to keep records from another year).
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is a provider built as module/app.go Provision builds it, on an in-memory Badger
// store: "web" is a confidential client with two redirect URIs (PKCE optional), "cli" a
// public client (PKCE required), "rp" a confidential client with exactly one redirect URI.
type env struct {
	t     testing.TB
	ctx   context.Context
	clk   *clock
	store store.Store
	sw    *swapStore
	ring  *keys.Ring
	p     *idp.Provider
	web   *idp.Client
	cli   *idp.Client
	rp    *idp.Client
	user  store.User
}

const userPassword = "correct horse battery"

func newEnv(t testing.TB, mod ...func(*idp.Config)) *env {
	t.Helper()
	return newEnvLogger(t, nil, mod...)
}

// newEnvLogger is newEnv with the provider logging to logger (nil: nowhere).
func newEnvLogger(t testing.TB, logger *slog.Logger, mod ...func(*idp.Config)) *env {
	t.Helper()
	ctx := context.Background()
	clk := newClock()
	s, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ring, err := keys.Load(ctx, s, keys.Algorithms, clk.Now)
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	mk := func(cfg idp.ClientConfig) *idp.Client {
		c, err := idp.NewClient(cfg)
		if err != nil {
			t.Fatalf("client %s: %v", cfg.ID, err)
		}
		return c
	}
	scopes := []string{"openid", "profile", "email", "offline_access", "read", "write"}
	web := mk(idp.ClientConfig{ID: "web", Secret: webSecret, RedirectURIs: []string{webCB, webCB2}, Scopes: scopes})
	cli := mk(idp.ClientConfig{ID: "cli", RedirectURIs: []string{cliCB}, Scopes: scopes})
	rp := mk(idp.ClientConfig{ID: "rp", Secret: "another-secret-of-16+", RedirectURIs: []string{"https://rp2.test/cb"}})
	cfg := idp.Config{Issuer: issuer, TenantID: "tenant-1", SignupMode: idp.SignupClosed, AccountMaxFailures: 5, IPMaxFailures: 50}
	for _, m := range mod {
		m(&cfg)
	}
	rl := tokens.NewRevocationList(clk.Now, 0)
	sw := &swapStore{Store: s}
	p, err := idp.New(cfg, sw, ring, password.New(fastHash, 0), rl, []*idp.Client{web, cli, rp}, clk.Now, logger)
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	u, err := p.CreateUser(ctx, idp.NewUser{Email: "alice@example.com", Password: userPassword, FirstName: "Alice",
		LastName: "Liddell", Groups: []string{"staff"}, EmailVerified: true})
	if err != nil {
		t.Fatalf("user: %v", err)
	}
	return &env{t: t, ctx: ctx, clk: clk, store: s, sw: sw, ring: ring, p: p, web: web, cli: cli, rp: rp, user: u}
}

// swapStore is the store the provider's pieces are built on: a test puts a wrapper in front
// of the real store with env.swap.
type swapStore struct{ store.Store }

// swap makes the provider use s (a wrapper of e.store, or e.store itself) from now on. Not
// safe while provider calls run.
func (e *env) swap(s store.Store) { e.sw.Store = s }

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = secret.New(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authQuery is a valid authorization request of client for scopes (PKCE when challenge is
// not empty).
func authQuery(client, redirectURI, challenge string, scopes ...string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirectURI},
		"scope": {strings.Join(scopes, " ")}, "state": {"st"}, "nonce": {"n-1"}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	return q
}

// session starts a portal session for the env's user.
func (e *env) session(meta idp.SessionMeta) store.Session {
	e.t.Helper()
	_, s, err := e.p.StartSession(e.ctx, e.user, []string{"pwd"}, meta)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// code validates q and issues a code for a new session (or sess if given).
func (e *env) code(q url.Values, sess ...store.Session) (string, store.Session) {
	e.t.Helper()
	req, _, oerr := e.p.ParseAuthRequest(e.ctx, q)
	if oerr != nil {
		e.t.Fatalf("ParseAuthRequest: %v", oerr)
	}
	var s store.Session
	if len(sess) > 0 {
		s = sess[0]
	} else {
		s = e.session(idp.SessionMeta{})
	}
	c, err := e.p.IssueCode(e.ctx, req, s)
	if err != nil {
		e.t.Fatalf("IssueCode: %v", err)
	}
	return c, s
}

// tokens runs a whole code flow for the web client with PKCE.
func (e *env) tokens(scopes ...string) (*idp.TokenResponse, store.Session) {
	e.t.Helper()
	v, ch := pkce()
	code, s := e.code(authQuery("web", webCB, ch, scopes...))
	resp, oerr := e.p.ExchangeCode(e.ctx, e.web, code, webCB, v)
	if oerr != nil {
		e.t.Fatalf("ExchangeCode: %v", oerr)
	}
	return resp, s
}

func wantOAuth(t testing.TB, got *idp.Error, code string) {
	t.Helper()
	if got == nil {
		t.Fatalf("succeeded; want OAuth error %s", code)
	}
	if got.Code != code {
		t.Fatalf("got %s (%s); want %s", got.Code, got.Description, code)
	}
	if strings.ContainsAny(got.Description, "\r\n\t") {
		t.Fatalf("error_description contains CR/LF/TAB: %q", got.Description)
	}
}
