package idptest

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
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The fixture's issuer, redirect URIs, client secret and user password.
const (
	Issuer = "https://login.example.com"
	WebCB  = "https://rp.test/cb"
	WebCB2 = "https://rp.test/other-cb"
	// PartnerCB and PartnerSecret are the third-party client's.
	PartnerCB     = "https://partner.test/cb"
	PartnerSecret = "partner-secret-of-16+"
	WebBye        = "https://rp.test/bye" // the web client's post_logout_redirect_uri
	CliCB         = "http://127.0.0.1:8765/callback"
	WebSecret     = "0123456789abcdef-web-secret"
	UserPassword  = "correct horse battery"
	// Alice is the address of the fixture's user.
	Alice = "alice@example.com"
)

// FastHash keeps argon2id cheap where its cost is not the point.
var FastHash = password.Params{Memory: 64, Time: 1, Threads: 1}

// Clock is a settable clock starting at the wall clock (Badger expires records by the wall
// clock, so the store must not be asked to keep records from another year).
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock at the current second.
func NewClock() *Clock {
	c := new(Clock)
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Env is a provider built as module/app.go Provision builds it, on an in-memory Badger
// store: "web" is a confidential client with two redirect URIs (PKCE optional), "cli" a
// public client (PKCE required), "rp" a confidential client with exactly one redirect URI;
// User is alice@example.com with UserPassword, in group staff, address verified.
type Env struct {
	T     testing.TB
	Ctx   context.Context
	Clock *Clock
	// Store is the real store; the provider's pieces use it through a swappable wrapper
	// (Swap).
	Store store.Store
	Ring  *keys.Ring
	P     *idp.Provider
	Web   *idp.Client
	CLI   *idp.Client
	RP    *idp.Client
	// Partner is a third-party client (consent required) with one redirect URI, PartnerCB.
	Partner *idp.Client
	User    store.User

	sw *swapStore
}

// New returns an Env whose configuration mod changes before the provider is built.
func New(t testing.TB, mod ...func(*idp.Config)) *Env {
	t.Helper()
	return NewLogged(t, nil, mod...)
}

// NewLogged is New with the provider logging to logger (nil: nowhere).
func NewLogged(t testing.TB, logger *slog.Logger, mod ...func(*idp.Config)) *Env {
	t.Helper()
	return NewOn(t, memory.New(), logger, mod...)
}

// NewOn is NewLogged on the store s (a Badger or PostgreSQL store, for benchmarks and
// durability tests) instead of a fresh memory store.
func NewOn(t testing.TB, s store.Store, logger *slog.Logger, mod ...func(*idp.Config)) *Env {
	t.Helper()
	ctx := context.Background()
	clk := NewClock()
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
	web := mk(idp.ClientConfig{ID: "web", Secret: WebSecret, RedirectURIs: []string{WebCB, WebCB2},
		PostLogoutRedirectURIs: []string{WebBye}, Scopes: scopes})
	cli := mk(idp.ClientConfig{ID: "cli", RedirectURIs: []string{CliCB}, Scopes: scopes})
	rp := mk(idp.ClientConfig{ID: "rp", Secret: "another-secret-of-16+", RedirectURIs: []string{"https://rp2.test/cb"}})
	partner := mk(idp.ClientConfig{ID: "partner", Name: "Partner Reports", Secret: PartnerSecret, RedirectURIs: []string{PartnerCB},
		Scopes: append(scopes, "phone", "address", "read:reports"), Consent: "required"})
	cfg := idp.Config{Issuer: Issuer, TenantID: "tenant-1", SignupMode: idp.SignupClosed, AccountMaxFailures: 5, IPMaxFailures: 50}
	for _, m := range mod {
		m(&cfg)
	}
	rl := tokens.NewRevocationList(clk.Now, 0)
	sw := &swapStore{Store: s}
	p, err := idp.New(cfg, sw, ring, password.New(FastHash, 0), rl, []*idp.Client{web, cli, rp, partner}, clk.Now, logger)
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	u, err := p.Accounts.Create(ctx, idp.NewUser{Email: Alice, Password: UserPassword, FirstName: "Alice",
		LastName: "Liddell", Groups: []string{"staff"}, EmailVerified: true})
	if err != nil {
		t.Fatalf("user: %v", err)
	}
	return &Env{T: t, Ctx: ctx, Clock: clk, Store: s, sw: sw, Ring: ring, P: p, Web: web, CLI: cli, RP: rp, Partner: partner, User: u}
}

// swapStore is the store the provider's pieces are built on; Env.Swap changes what it
// forwards to.
type swapStore struct{ store.Store }

// Swap makes the provider's pieces use s (a wrapper of e.Store, or e.Store itself) from now
// on. Not safe while provider calls run.
func (e *Env) Swap(s store.Store) { e.sw.Store = s }

// PKCE returns a verifier and its S256 challenge.
func PKCE() (verifier, challenge string) {
	verifier = secret.New(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthQuery is a valid authorization request of client for scopes (PKCE when challenge is
// not empty), with state "st" and nonce "n-1".
func AuthQuery(client, redirectURI, challenge string, scopes ...string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirectURI},
		"scope": {strings.Join(scopes, " ")}, "state": {"st"}, "nonce": {"n-1"}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	return q
}

// Session starts a portal session for the env's user (amr pwd).
func (e *Env) Session(meta sessions.Meta) store.Session {
	e.T.Helper()
	_, s, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, meta)
	if err != nil {
		e.T.Fatal(err)
	}
	return s
}

// Code validates q and issues a code for a new session (or sess if given).
func (e *Env) Code(q url.Values, sess ...store.Session) (string, store.Session) {
	e.T.Helper()
	req, _, oerr := e.P.ParseAuthRequest(e.Ctx, q)
	if oerr != nil {
		e.T.Fatalf("ParseAuthRequest: %v", oerr)
	}
	var s store.Session
	if len(sess) > 0 {
		s = sess[0]
	} else {
		s = e.Session(sessions.Meta{})
	}
	c, err := e.P.IssueCode(e.Ctx, req, s)
	if err != nil {
		e.T.Fatalf("IssueCode: %v", err)
	}
	return c, s
}

// Tokens runs a whole code flow for the web client with PKCE.
func (e *Env) Tokens(scopes ...string) (*idp.TokenResponse, store.Session) {
	e.T.Helper()
	v, ch := PKCE()
	code, s := e.Code(AuthQuery("web", WebCB, ch, scopes...))
	resp, oerr := e.P.ExchangeCode(e.Ctx, e.Web, code, WebCB, v)
	if oerr != nil {
		e.T.Fatalf("ExchangeCode: %v", oerr)
	}
	return resp, s
}

// WantOAuth fails t unless got is an error of this kind, with a description free of CR, LF
// and TAB.
func WantOAuth(t testing.TB, got *idp.Error, kind oauth.Kind) {
	t.Helper()
	if got == nil {
		t.Fatalf("succeeded; want an error of kind %s", kind)
	}
	if got.Kind != kind {
		t.Fatalf("got %s (%s); want %s", got.Kind, got.Description, kind)
	}
	if strings.ContainsAny(got.Description, "\r\n\t") {
		t.Fatalf("error_description contains CR/LF/TAB: %q", got.Description)
	}
}

// ErrString is err's text, or "<nil>".
func ErrString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// RaceStore runs its hooks just before a password or passkey is written: the moment a
// concurrent claim or recovery could end the writer's session. Put it in front of the
// store with Env.Swap.
type RaceStore struct {
	store.Store
	BeforeSetPassword, BeforeCreatePasskey func()
}

// CreatePasskey runs BeforeCreatePasskey, then stores pk.
func (r *RaceStore) CreatePasskey(ctx context.Context, pk store.Passkey) error {
	if r.BeforeCreatePasskey != nil {
		r.BeforeCreatePasskey()
	}
	return r.Store.CreatePasskey(ctx, pk)
}

// SetPassword runs BeforeSetPassword, then stores c.
func (r *RaceStore) SetPassword(ctx context.Context, c store.PasswordCredential) error {
	if r.BeforeSetPassword != nil {
		r.BeforeSetPassword()
	}
	return r.Store.SetPassword(ctx, c)
}

// CountingStore counts the writes of rate-limit and lockout counters (IncrementCounter,
// the counters of CreateLatestOneTimeCode, ResetCounter) that reach the store it wraps.
type CountingStore struct {
	store.Store
	writes atomic.Int64
}

// CounterWrites is the number of counter writes so far.
func (c *CountingStore) CounterWrites() int64 { return c.writes.Load() }

// IncrementCounter counts and forwards.
func (c *CountingStore) IncrementCounter(ctx context.Context, key string, delta int64, window time.Duration, now time.Time) (int64, time.Time, error) {
	c.writes.Add(1)
	return c.Store.IncrementCounter(ctx, key, delta, window, now)
}

// CreateLatestOneTimeCode counts one write per counter of count and forwards.
func (c *CountingStore) CreateLatestOneTimeCode(ctx context.Context, now time.Time, code, latest store.OneTimeCode, count ...store.CounterIncrement) ([]store.CounterValue, bool, error) {
	c.writes.Add(int64(len(count)))
	return c.Store.CreateLatestOneTimeCode(ctx, now, code, latest, count...)
}

// ResetCounter counts and forwards.
func (c *CountingStore) ResetCounter(ctx context.Context, key string) error {
	c.writes.Add(1)
	return c.Store.ResetCounter(ctx, key)
}
