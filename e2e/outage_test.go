package e2e

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// pgCutter is a TCP proxy between Gatehouse and the test's PostgreSQL server that the test
// can cut (every connection closed, new ones refused) and restore on the same port, so that
// a test can take the database away from one Gatehouse without stopping the shared server.
type pgCutter struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newPGCutter(t *testing.T, target string) *pgCutter {
	t.Helper()
	c := &pgCutter{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.serve(ln)
	t.Cleanup(c.cut)
	return c
}

func (c *pgCutter) serve(ln net.Listener) {
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				_ = in.Close()
				continue
			}
			c.mu.Lock()
			if c.ln != ln { // cut meanwhile
				c.mu.Unlock()
				_, _ = in.Close(), out.Close()
				continue
			}
			c.conns[in], c.conns[out] = struct{}{}, struct{}{}
			c.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
}

// cut closes the listener and every proxied connection: the database is unreachable.
func (c *pgCutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		_ = c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		_ = conn.Close()
		delete(c.conns, conn)
	}
}

// restore listens again on the same port.
func (c *pgCutter) restore() {
	c.t.Helper()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatalf("restore the database proxy: %v", err)
	}
	c.serve(ln)
}

// dsnVia returns dsn with its host and port replaced by addr.
func dsnVia(t *testing.T, dsn, addr string) string {
	t.Helper()
	if _, err := pgx.ParseConfig(dsn); err != nil {
		t.Fatalf("test DSN: %v", err)
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Skipf("GATEHOUSE_TEST_POSTGRES must be a URL for this test: %q", dsn)
	}
	u.Host = addr
	return u.String()
}

// TestRB10_PostgresOutage: "If PostgreSQL is unreachable, protected routes with a
// still-valid cached credential keep working for the token's lifetime and everything else
// fails closed with 503 — never open" (issue 15). Gatehouse reaches PostgreSQL through a
// proxy the test cuts. During the outage — and well past the minute after which the
// revocation list counts as stale — the bearer token and the site's session cookie issued
// before it keep reaching the app; the token of a user disabled before the outage stays
// refused; a password login, a code exchange and a refresh answer 503 with Retry-After.
// At the access token's own expiry the bearer token is refused (401) and the cookie, whose
// refresh needs the database, gets 503 — never a pass. When the database is back, logins
// work again.
func TestRB10_PostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the access token's lifetime (about 90 s)")
	}
	dsn := pgtest.Need(t)
	schema := pgtest.Schema(t)
	proxy := newPGCutter(t, func() string {
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			t.Skipf("GATEHOUSE_TEST_POSTGRES must be a URL with a host for this test: %q", dsn)
		}
		return u.Host
	}())
	t.Setenv("GATEHOUSE_E2E_DATABASE_URL", dsnVia(t, dsn, proxy.addr))
	const lifetime = 75 * time.Second
	cfg := Config{Gatehouse: `
		tokens {
			access_token_lifetime 75s
			leeway 5s
		}` + AppClient, Sites: AppSite,
		Storage: "storage postgres {env.GATEHOUSE_E2E_DATABASE_URL} {\n\t\t\tschema " + schema + "\n\t\t}"}
	e := Start(t, cfg)
	e.CreateUser("pat@example.test", "staff")
	bob := e.CreateUser("bob@example.test", "staff")

	b := NewBrowser(t)
	issued := time.Now()
	if r := e.BrowserLogin(b, e.App+"/docs", "pat@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("browser login to the protected app: %s", r)
	}
	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email offline_access read:docs")
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
	code, verifier := e.Code(b, "app", e.RP+"/app-cb", "openid read:docs")
	bobBrowser := NewBrowser(t)
	e.PortalLogin(bobBrowser, "bob@example.test", Password)
	bobAT := e.AccessToken(bobBrowser, "openid read:docs")
	if r := Get(t, e.App+"/api", bobAT); r.Status != http.StatusOK {
		t.Fatalf("bob's token before the disable: %s", r)
	}
	if r := e.Admin(http.MethodPost, "/gatehouse/users/"+bob+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable bob: %s", r)
	}
	// Revocation-list syncs run every second: let one run after the tokens were issued.
	time.Sleep(2500 * time.Millisecond)

	proxy.cut()
	cutAt := time.Now()
	t.Logf("database cut %v after the tokens were issued", cutAt.Sub(issued).Round(time.Millisecond))

	served := func(when string) {
		t.Helper()
		if r := Get(t, e.App+"/api", at); r.Status != http.StatusOK {
			t.Errorf("%s: bearer token issued before the outage: %s, want 200", when, r)
		}
		if r := b.Do(http.MethodGet, e.App+"/docs", nil); r.Status != http.StatusOK {
			t.Errorf("%s: site session cookie issued before the outage: %s, want 200", when, r)
		}
		if r := Get(t, e.App+"/api", bobAT); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: token of a user disabled before the outage: %s, want 401", when, r)
		}
	}
	unavailable := func(what string, r *Resp) {
		t.Helper()
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s during the outage: %s (Retry-After %q), want 503 with Retry-After", what, r, r.Header.Get("Retry-After"))
		}
	}
	closed := func(when string) {
		t.Helper()
		unavailable(when+": password login", e.APILogin("pat@example.test", Password))
		unavailable(when+": code exchange", e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {e.RP + "/app-cb"}, "client_id": {"app"}, "code_verifier": {verifier}}))
		unavailable(when+": refresh", e.Refresh("app", rt))
	}
	served("right after the cut")
	closed("right after the cut")

	// Past the minute after which the revocation list is stale: still served, still closed.
	time.Sleep(time.Until(cutAt.Add(65 * time.Second)))
	if time.Now().After(issued.Add(lifetime - 2*time.Second)) {
		t.Fatalf("the machine is too slow: the tokens expire before the stale-list check (%v after issue)", time.Since(issued))
	}
	served("65 s into the outage")
	closed("65 s into the outage")

	// The access token's own expiry (lifetime + leeway) ends it.
	time.Sleep(time.Until(issued.Add(lifetime + 7*time.Second)))
	if r := Get(t, e.App+"/api", at); r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("bearer token after its expiry, database still down: %s, want 401 invalid_token", r)
	}
	if r := b.Do(http.MethodGet, e.App+"/docs", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("site cookie after its access token's expiry, database still down (refresh impossible): %s, want 503", r)
	}
	if t.Failed() {
		return
	}

	// The database is back: logins and refreshes work again.
	proxy.restore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.APILogin("pat@example.test", Password)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("password login 30 s after the database came back: %s", r)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The refresh token survived the outage: the refresh may answer 503 with Retry-After
	// until the revocation list has been read again (never invalid_grant, which would make
	// the client throw the token away), then 200.
	for {
		r := e.Refresh("app", rt)
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("refresh after the outage: %s", r)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
