package protect

import (
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The protect benchmarks measure the gateway's per-request cost: Guard.Serve from reading
// the credential to injecting the identity headers (stripping, cache, revocation check,
// policy), without Caddy or the network. The request object is reused and only its
// credential reset, so the allocations reported are the guard's own.

// benchRule is a typical route: a scope and an audience.
var benchRule = policy.Rule{Scopes: []string{"read"}, Audience: []string{"web"}}

func benchRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, testSite+"/docs/page", nil)
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "bench/1.0")
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	return r
}

// BenchmarkProtectBearerCached: a client reusing one access token (the common API case):
// a cache hit plus the revocation check on every request.
func BenchmarkProtectBearerCached(b *testing.B) {
	benchBearerCached(b, newEnv(b))
}

// benchBearerCached is BenchmarkProtectBearerCached on e.
func benchBearerCached(b *testing.B, e *env) {
	g := e.guard(benchRule)
	resp, _ := e.login("openid", "email", "read")
	authz := []string{"Bearer " + resp.AccessToken}
	r := benchRequest()
	w := httptest.NewRecorder()
	r.Header["Authorization"] = authz
	if g.Serve(w, r) == nil {
		b.Fatalf("control request refused: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Header["Authorization"] = authz
		if g.Serve(w, r) == nil {
			b.Fatal("refused")
		}
	}
}

// BenchmarkProtectPATCached: a script reusing one personal access token (Bearer gh_pat_...):
// a cache hit, the revocation-list check and the last-use throttle, no store access.
func BenchmarkProtectPATCached(b *testing.B) {
	e := newEnv(b)
	g := e.guard(benchRule)
	sec, _, err := e.p.AppCredentials.Create(e.ctx, e.user.ID, appcred.CreateRequest{Kind: store.CredentialPAT, Name: "bench",
		Scopes: []string{"read"}, ExpiresInDays: 30})
	if err != nil {
		b.Fatal(err)
	}
	benchCached(b, g, "Bearer "+sec)
}

// BenchmarkProtectAppPasswordCached: a WebDAV or git client reusing one app password
// (Authorization: Basic) on a route that allows app passwords.
func BenchmarkProtectAppPasswordCached(b *testing.B) {
	e := newEnv(b)
	g := e.guard(benchRule)
	g.AllowAppPasswords = true
	sec, _, err := e.p.AppCredentials.Create(e.ctx, e.user.ID, appcred.CreateRequest{Kind: store.CredentialAppPassword, Name: "bench",
		Scopes: []string{"read"}, ExpiresInDays: 30})
	if err != nil {
		b.Fatal(err)
	}
	benchCached(b, g, "Basic "+base64.StdEncoding.EncodeToString([]byte(e.user.Email+":"+sec)))
}

// benchCached serves requests carrying one Authorization value, after two control requests
// (the cache admits a credential on its second sighting).
func benchCached(b *testing.B, g *Guard, value string) {
	authz := []string{value}
	r := benchRequest()
	w := httptest.NewRecorder()
	for range 2 {
		r.Header["Authorization"] = authz
		if g.Serve(w, r) == nil {
			b.Fatalf("control request refused: %d %s", w.Code, w.Body)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Header["Authorization"] = authz
		if g.Serve(w, r) == nil {
			b.Fatal("refused")
		}
	}
}

// BenchmarkProtectBearerUnique: every request carries a token never seen before (a fresh
// signature verification each time, plus cache insertion and eviction). The b.N tokens are
// signed before the timer starts.
func BenchmarkProtectBearerUnique(b *testing.B) {
	for _, alg := range []string{keys.RS256, keys.ES256, keys.EdDSA} {
		b.Run(alg, func(b *testing.B) {
			e := newEnv(b)
			g := e.guard(benchRule)
			resp, _ := e.login("openid", "email", "read")
			key, err := e.ring.Signer(alg)
			if err != nil {
				b.Fatal(err)
			}
			authz := presign(b, key, resp.Claims, b.N)
			r := benchRequest()
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.Header["Authorization"] = authz[i]
				if g.Serve(w, r) == nil {
					b.Fatalf("token %d refused: %d %s", i, w.Code, w.Body)
				}
			}
		})
	}
}

// presign signs n distinct access tokens like the provider's (same claims, a distinct
// jti each), in parallel.
func presign(b *testing.B, key *keys.Key, base *tokens.AccessClaims, n int) [][]string {
	b.Helper()
	out := make([][]string, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				c := *base
				c.ID = fmt.Sprint("bench-", i)
				tok, err := tokens.Sign(key, tokens.TypeAccessToken, &c)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				out[i] = []string{"Bearer " + tok}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return out
}

// BenchmarkProtectCookieCached: a browser with a session cookie (access and refresh token,
// sealed), next to an application cookie that must pass through: a cache hit on the
// cookie value, cookie stripping and the revocation check.
func BenchmarkProtectCookieCached(b *testing.B) {
	e := newEnv(b)
	g := e.guard(benchRule)
	resp, _ := e.login("openid", "email", "read", "offline_access")
	enc := sealFor(b, g, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)
	line := "__Host-gatehouse_auth=" + enc + "; app_session=abc123; theme=dark"
	r := benchRequest()
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	r.Header["Cookie"] = []string{line}
	if g.Serve(w, r) == nil {
		b.Fatalf("control request refused: %d %s", w.Code, w.Body)
	}
	if got := r.Header.Get("Cookie"); got != "app_session=abc123; theme=dark" {
		b.Fatalf("upstream Cookie = %q", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// A new slice each time, as the server would parse one per request: stripping the
		// Gatehouse cookie rewrites it in place.
		r.Header["Cookie"] = []string{line}
		if g.Serve(w, r) == nil {
			b.Fatal("refused")
		}
	}
}

// TestBenchmarksRun runs every protect benchmark once (-benchtime=1x) as part of the
// ordinary test run, so that they keep compiling and working.
func TestBenchmarksRun(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	f := flag.Lookup("test.benchtime")
	if f == nil {
		t.Skip("benchtime flag not registered")
	}
	old := f.Value.String()
	if err := f.Value.Set("1x"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Value.Set(old) }()
	for name, fn := range map[string]func(*testing.B){
		"BearerCached":  BenchmarkProtectBearerCached,
		"BearerUnique":  BenchmarkProtectBearerUnique,
		"CookieCached":  BenchmarkProtectCookieCached,
		"CookieStale":   BenchmarkProtectCookieStale,
		"SessionHandle": BenchmarkSessionHandle,
		"AssertCached":  BenchmarkProtectAssertionCached,
		"AssertSigned":  BenchmarkProtectAssertionSigned,
	} {
		res := testing.Benchmark(fn)
		if res.N < 1 {
			t.Fatalf("benchmark %s failed or did not run", name)
		}
	}
}
