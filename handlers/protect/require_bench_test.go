package protect

import (
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/tokens"
)

// benchRequire measures a client reusing one token on a route with two require lines;
// compare with BenchmarkProtectBearerCached.
func benchRequire(b *testing.B, qs ...Requirement) {
	e := newEnv(b)
	tok := e.mintWith(b, func(c *tokens.AccessClaims) {
		c.Scope = "openid email read"
		c.Roles = []string{"editor"}
		c.Permissions = []string{"docs:write"}
		c.Organization = "acme"
	})
	g := e.requireGuard(b, qs...)
	g.Rule = benchRule
	authz := []string{"Bearer " + tok}
	r := benchRequest()
	w := httptest.NewRecorder()
	for range 2 { // first sighting, then admission to the cache
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

// BenchmarkProtectRequireCached: two require expressions over claims only: the decision is
// cached with the credential.
func BenchmarkProtectRequireCached(b *testing.B) {
	benchRequire(b, Requirement{Expression: `"docs:write" in claims.permissions && claims.organization == "acme"`},
		Requirement{Roles: []string{"admin", "editor"}})
}

// BenchmarkProtectRequireRequest: two require expressions, one reading the request: both are
// evaluated on every request.
func BenchmarkProtectRequireRequest(b *testing.B) {
	benchRequire(b, Requirement{Expression: `request.method in ["GET", "HEAD"] || "docs:write" in claims.permissions`},
		Requirement{Roles: []string{"admin", "editor"}})
}
