package protect

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// countingStore counts the app-credential reads and writes the guard causes.
type countingStore struct {
	store.Store
	gets, updates atomic.Int64
}

func (c *countingStore) GetAppCredential(ctx context.Context, id string) (store.AppCredential, error) {
	c.gets.Add(1)
	return c.Store.GetAppCredential(ctx, id)
}

func (c *countingStore) UpdateAppCredential(ctx context.Context, id string, f func(store.AppCredential) (store.AppCredential, error)) (store.AppCredential, error) {
	c.updates.Add(1)
	return c.Store.UpdateAppCredential(ctx, id, f)
}

// credEnv is env with a counting store under the app-credential service.
func credEnv(t *testing.T) (*env, *countingStore) {
	e := newEnv(t)
	cs := &countingStore{Store: e.store}
	e.p.AppCredentials.Store = cs
	e.p.Lockout.Store = cs
	return e, cs
}

func (e *env) createCred(kind string, req appcred.CreateRequest) (string, store.AppCredential) {
	e.t.Helper()
	req.Kind = kind
	if req.Name == "" {
		req.Name = "test " + kind
	}
	if req.ExpiresInDays == 0 {
		req.ExpiresInDays = 30
	}
	sec, c, err := e.p.AppCredentials.Create(e.ctx, e.user.ID, req)
	if err != nil {
		e.t.Fatalf("create %s: %v", kind, err)
	}
	return sec, c
}

func basicRequest(user, pass string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, testSite+"/dav/", nil)
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return r
}

func appPasswordGuard(e *env, rule policy.Rule) *Guard {
	g := &Guard{Provider: e.p, ClientID: "web", Rule: rule, Headers: mustCompile(e.t, DefaultHeaders), AllowAppPasswords: true,
		CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1")}
	if err := g.Init(); err != nil {
		e.t.Fatal(err)
	}
	return g
}

// TestAppCredentialPATBearerPasses: PX-01, PX-30 — a personal access token is accepted as a
// bearer token on any route, the upstream gets the user's identity headers (client-sent ones
// gone) and not the token, and the amr placeholder says no person logged in ("pat").
func TestAppCredentialPATBearerPasses(t *testing.T) {
	e, _ := credEnv(t)
	g := e.guard(policy.Rule{Scopes: []string{"read"}, Audience: []string{"web"}, Groups: []string{"staff"}})
	sec, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{Scopes: []string{"read"}})
	if _, ok := appcred.Parse(sec); !ok || len(sec) != 43 || sec[:7] != "gh_pat_" {
		t.Fatalf("secret %q is not gh_pat_ + 36 characters with a valid checksum", sec)
	}
	r := bearerRequest(sec)
	r.Header.Set("X-User-Id", "admin")
	w, id := serve(g, r)
	if id == nil {
		t.Fatalf("PAT refused: %d %s", w.Code, w.Body)
	}
	if got := r.Header.Get("X-User-Id"); got != e.user.ID {
		t.Fatalf("X-User-Id = %q, want %q", got, e.user.ID)
	}
	if r.Header.Get("X-User-Email") != "alice@example.com" || r.Header.Get("Authorization") != "" {
		t.Fatalf("upstream headers = %v", r.Header)
	}
	if v, _ := id.Lookup("gatehouse.auth.amr"); v != "pat" {
		t.Fatalf("amr = %v, want pat", v)
	}
	if v, _ := id.Lookup("gatehouse.token.scope"); v != "read" {
		t.Fatalf("scope = %v", v)
	}
}

// TestAppCredentialBasicRefusedWithoutAllow: CR-05 — "Basic auth on a route that does not
// allow it is refused without checking the password" (issue 16, Bad input): the store is
// never read, no failure is counted, and the 401 invites a bearer token only.
func TestAppCredentialBasicRefusedWithoutAllow(t *testing.T) {
	e, cs := credEnv(t)
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	sec, _ := e.createCred(store.CredentialAppPassword, appcred.CreateRequest{})
	for _, pass := range []string{sec, "wrong"} {
		w, id := serve(g, basicRequest("alice@example.com", pass))
		if id != nil || w.Code != http.StatusUnauthorized {
			t.Fatalf("Basic on a route without allow app_passwords: %d", w.Code)
		}
		if h := w.Header().Values("WWW-Authenticate"); len(h) != 1 || h[0] != `Bearer realm="gatehouse"` {
			t.Fatalf("challenge = %q", h)
		}
	}
	if n := cs.gets.Load(); n != 0 {
		t.Fatalf("the password was looked up %d times", n)
	}
	if n, _, _ := e.store.GetCounter(e.ctx, "login:ip:192.0.2.1", e.clk.Now()); n != 0 {
		t.Fatalf("failures counted: %d", n)
	}
}

// TestAppCredentialBasicOnAllowedRoute: RFC 7617 §2 — "the user-id and password are
// separated by a single colon"; the user-id must name the credential's user (email in any
// case, or username), the password must be an app password (not a PAT), and the route's
// scope rule applies to the credential's scopes.
func TestAppCredentialBasicOnAllowedRoute(t *testing.T) {
	e, _ := credEnv(t)
	g := appPasswordGuard(e, policy.Rule{Scopes: []string{"files:read"}})
	sec, _ := e.createCred(store.CredentialAppPassword, appcred.CreateRequest{Scopes: []string{"files:read"}})
	for _, user := range []string{"alice@example.com", "ALICE@example.COM"} {
		w, id := serve(g, basicRequest(user, sec))
		if id == nil {
			t.Fatalf("app password of %s refused: %d %s", user, w.Code, w.Body)
		}
		if v, _ := id.Lookup("gatehouse.auth.amr"); v != "app_password" {
			t.Fatalf("amr = %v", v)
		}
	}
	other, err := e.p.CreateUser(e.ctx, idp.NewUser{Email: "bob@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{Scopes: []string{"files:read"}})
	for name, r := range map[string]*http.Request{
		"another user's name": basicRequest(other.Email, sec),
		"a PAT as password":   basicRequest("alice@example.com", pat),
		"no colon":            basicRequestRaw(base64.StdEncoding.EncodeToString([]byte("alice@example.com" + sec))),
		"not base64":          basicRequestRaw("%%%"),
	} {
		w, id := serve(g, r)
		if id != nil || w.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", name, w.Code)
		}
		if h := w.Header().Values("WWW-Authenticate"); len(h) != 2 || h[0] != basicChallenge {
			t.Fatalf("%s: challenge = %q", name, h)
		}
	}
	noScope, _ := e.createCred(store.CredentialAppPassword, appcred.CreateRequest{Scopes: []string{"other"}})
	if w, _ := serve(g, basicRequest("alice@example.com", noScope)); w.Code != http.StatusForbidden || errorCode(t, w) != "insufficient_scope" {
		t.Fatalf("credential without the route's scope: %d %s", w.Code, w.Body)
	}
	// No credential at all: the 401 invites Basic too, so that git and WebDAV clients send one.
	r := httptest.NewRequest(http.MethodGet, testSite+"/dav/", nil)
	if w, _ := serve(g, r); w.Code != http.StatusUnauthorized || len(w.Header().Values("WWW-Authenticate")) != 2 {
		t.Fatalf("anonymous: %d %v", w.Code, w.Header())
	}
}

func basicRequestRaw(v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, testSite+"/dav/", nil)
	r.Header.Set("Authorization", "Basic "+v)
	return r
}

// TestAppCredentialNoOracle: CR-06 — "Wrong, expired and revoked app passwords and PATs get
// the same 401 (no oracle)" (issue 16, Bad input): status, headers and body are identical
// for a wrong, a malformed, an expired, a revoked credential and one of a disabled user.
func TestAppCredentialNoOracle(t *testing.T) {
	e, _ := credEnv(t)
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	expired, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{ExpiresInDays: 1})
	revoked, rc := e.createCred(store.CredentialPAT, appcred.CreateRequest{})
	if _, err := e.p.AppCredentials.Revoke(e.ctx, e.user.ID, appcred.ShortID(rc.ID)); err != nil {
		t.Fatal(err)
	}
	wrong := appcred.Generate(store.CredentialPAT)
	malformed := expired[:len(expired)-1] + "x"
	e.clk.Advance(24*time.Hour + time.Second)
	var first *httptest.ResponseRecorder
	for name, tok := range map[string]string{"wrong": wrong, "malformed": malformed, "expired": expired, "revoked": revoked} {
		w, id := serve(g, bearerRequest(tok))
		if id != nil || w.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", name, w.Code)
		}
		if first == nil {
			first = w
			continue
		}
		if w.Body.String() != first.Body.String() || w.Header().Get("WWW-Authenticate") != first.Header().Get("WWW-Authenticate") {
			t.Fatalf("%s answers differently:\n%v %s\n%v %s", name, w.Header(), w.Body, first.Header(), first.Body)
		}
	}
}

// TestAppCredentialCachedAndRevokedAtOnce: a reused credential costs no store read; a
// revocation (here or, through the store's revocation list, on another instance) refuses
// the next request although the credential is cached; last use is written at most once a
// minute, off the request path.
func TestAppCredentialCachedAndRevokedAtOnce(t *testing.T) {
	e, cs := credEnv(t)
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	sec, c := e.createCred(store.CredentialPAT, appcred.CreateRequest{})
	for range 2 { // admitted to the cache on its second sighting
		if _, id := serve(g, bearerRequest(sec)); id == nil {
			t.Fatal("refused")
		}
	}
	reads := cs.gets.Load()
	for range 100 {
		if _, id := serve(g, bearerRequest(sec)); id == nil {
			t.Fatal("refused")
		}
	}
	if n := cs.gets.Load() - reads; n != 0 {
		t.Fatalf("%d store reads for 100 requests with a cached credential", n)
	}
	e.p.AppCredentials.Wait()
	if n := cs.updates.Load(); n != 1 {
		t.Fatalf("last use written %d times, want 1", n)
	}
	got, _ := e.store.GetAppCredential(e.ctx, c.ID)
	if got.LastUsedIP != "192.0.2.1" || got.LastUsedAt.IsZero() {
		t.Fatalf("last use = %v %q", got.LastUsedAt, got.LastUsedIP)
	}
	e.clk.Advance(30 * time.Second)
	serve(g, bearerRequest(sec))
	e.p.AppCredentials.Wait()
	if n := cs.updates.Load(); n != 1 {
		t.Fatalf("last use written again within a minute (%d)", n)
	}
	e.clk.Advance(31 * time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil { // the app syncs every second
		t.Fatal(err)
	}
	if w, id := serve(g, bearerRequest(sec)); id == nil {
		t.Fatalf("refused after a minute: %d %s", w.Code, w.Body)
	}
	e.p.AppCredentials.Wait()
	if n := cs.updates.Load(); n != 2 {
		t.Fatalf("last use after a minute written %d times, want 2", n)
	}

	// Another instance revokes: the entry reaches this one through the store.
	if err := e.store.AddRevocation(e.ctx, store.Revocation{Kind: store.RevokeCredential, Subject: c.ID, At: e.clk.Now(), ExpiresAt: c.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	if _, id := serve(g, bearerRequest(sec)); id == nil {
		t.Fatal("refused before the revocation list synced")
	}
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	if w, id := serve(g, bearerRequest(sec)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("revoked credential: %d", w.Code)
	}

	// Revoked here: at once.
	sec2, c2 := e.createCred(store.CredentialPAT, appcred.CreateRequest{})
	serve(g, bearerRequest(sec2))
	serve(g, bearerRequest(sec2))
	if _, err := e.p.AppCredentials.Revoke(e.ctx, e.user.ID, c2.ID); err != nil {
		t.Fatal(err)
	}
	if w, id := serve(g, bearerRequest(sec2)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("credential revoked here: %d", w.Code)
	}
}

// TestAppCredentialDisabledUser: disabling the user (which revokes the user) refuses a
// cached credential on the next request: the guard reads the user again.
func TestAppCredentialDisabledUser(t *testing.T) {
	e, _ := credEnv(t)
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	sec, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{})
	serve(g, bearerRequest(sec))
	serve(g, bearerRequest(sec))
	e.clk.Advance(time.Second)
	if _, err := e.p.Accounts.SetDisabled(e.ctx, e.user.ID, true); err != nil {
		t.Fatal(err)
	}
	if w, id := serve(g, bearerRequest(sec)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("credential of a disabled user: %d", w.Code)
	}
}

// TestAppCredentialMFARoute: RFC 9470 §3 — a route that requires a multi-factor login
// refuses a credential (insufficient_user_authentication, never a redirect to the login),
// unless the route allows app credentials; sites limit the hosts a credential works on.
func TestAppCredentialMFARoute(t *testing.T) {
	e, _ := credEnv(t)
	sec, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{})
	g := e.guard(policy.Rule{Audience: []string{"web"}, MFA: true})
	r := bearerRequest(sec)
	r.Header.Set("Accept", "text/html")
	if w, id := serve(g, r); id != nil || w.Code != http.StatusUnauthorized || errorCode(t, w) != "insufficient_user_authentication" {
		t.Fatalf("PAT on an mfa route: %d %s", w.Code, w.Body)
	}
	g2 := &Guard{Provider: e.p, ClientID: "web", Rule: policy.Rule{MFA: true}, MFAAllowsAppCredentials: true,
		CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1")}
	if err := g2.Init(); err != nil {
		t.Fatal(err)
	}
	if w, id := serve(g2, bearerRequest(sec)); id == nil {
		t.Fatalf("PAT on an mfa route allowing app credentials: %d %s", w.Code, w.Body)
	}
	elsewhere, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{Sites: []string{"Files.Test"}})
	if w, id := serve(g2, bearerRequest(elsewhere)); id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("PAT for another site: %d", w.Code)
	}
	r = httptest.NewRequest(http.MethodGet, "https://files.test:8443/x", nil)
	r.Header.Set("Authorization", "Bearer "+elsewhere)
	if w, id := serve(g2, r); id == nil {
		t.Fatalf("PAT on its site: %d %s", w.Code, w.Body)
	}
}

// TestAppCredentialAttemptsLimited: CR-02, CR-05 — failed credentials count against the
// client IP's login limit, shared with the password login; over it the client gets 429.
func TestAppCredentialAttemptsLimited(t *testing.T) {
	e, _ := credEnv(t)
	e.p.AppCredentials.IPMaxFailures = 3
	g := e.guard(policy.Rule{Audience: []string{"web"}})
	for i := range 3 {
		if w, _ := serve(g, bearerRequest(appcred.Generate(store.CredentialPAT))); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	if n, _, _ := e.store.GetCounter(e.ctx, "login:ip:192.0.2.1", e.clk.Now()); n != 3 {
		t.Fatalf("per-IP failures = %d, want 3", n)
	}
	w, _ := serve(g, bearerRequest(appcred.Generate(store.CredentialPAT)))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %v", w.Code, w.Header())
	}
}
