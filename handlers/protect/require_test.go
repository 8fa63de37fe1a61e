package protect

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// mintWith signs an access token for e.user carrying the given extra claims (roles,
// permissions, organization, custom_data), as the provider would.
func (e *env) mintWith(t testing.TB, edit func(c *tokens.AccessClaims)) string {
	t.Helper()
	now := e.clk.Now().Unix()
	c := &tokens.AccessClaims{Issuer: testIssuer, Subject: e.user.ID, Audience: tokens.Audience{"web"}, ClientID: "web",
		ExpiresAt: now + 300, IssuedAt: now, ID: "jti-" + t.Name(), Scope: "openid email", AuthTime: now - 60,
		AMR: []string{"pwd"}, Email: "alice@example.com", EmailVerified: true, Groups: []string{"staff"}}
	if edit != nil {
		edit(c)
	}
	key, err := e.ring.Signer(keys.Algorithms[0])
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Sign(key, tokens.TypeAccessToken, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) requireGuard(t testing.TB, qs ...Requirement) *Guard {
	t.Helper()
	g := &Guard{Provider: e.p, ClientID: "web", Rule: policy.Rule{Audience: []string{"web"}}, Headers: mustCompile(t, DefaultHeaders),
		CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1"), Require: qs}
	if err := g.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return g
}

// TestRequireAllowDeny: JW-25 for claims beyond scopes — every require line must hold; a shorthand holds when any of its
// names is in the claim. A denial is 403 insufficient_scope (RFC 6750 §3.1: "The resource
// server SHOULD respond with the HTTP 403 (Forbidden) status code") that names the missing
// requirement and no claim value.
func TestRequireAllowDeny(t *testing.T) {
	e := newEnv(t)
	editor := e.mintWith(t, func(c *tokens.AccessClaims) {
		c.Roles = []string{"editor"}
		c.Permissions = []string{"docs:write", "docs:read"}
		c.Organization = "acme"
		c.CustomData = json.RawMessage(`{"plan":"pro","seats":5}`)
	})
	viewer := e.mintWith(t, func(c *tokens.AccessClaims) {
		c.ID = "jti-viewer"
		c.Roles = []string{"viewer"}
		c.Permissions = []string{"docs:read"}
		c.Organization = "globex"
	})
	bare := e.mintWith(t, func(c *tokens.AccessClaims) { c.ID = "jti-bare" })
	cases := []struct {
		name    string
		qs      []Requirement
		tok     string
		allowed bool
		missing string
	}{
		{"role any-of", []Requirement{{Roles: []string{"admin", "editor"}}}, editor, true, ""},
		{"role missing", []Requirement{{Roles: []string{"admin", "editor"}}}, viewer, false, "role admin or editor"},
		{"permission", []Requirement{{Permissions: []string{"docs:write"}}}, editor, true, ""},
		{"permission missing", []Requirement{{Permissions: []string{"docs:write"}}}, viewer, false, "permission docs:write"},
		{"organization", []Requirement{{Organization: "acme"}}, editor, true, ""},
		{"organization other", []Requirement{{Organization: "acme"}}, viewer, false, "organization acme"},
		{"no claims at all", []Requirement{{Roles: []string{"editor"}}}, bare, false, "role editor"},
		{"all lines must hold", []Requirement{{Roles: []string{"editor"}}, {Organization: "initech"}}, editor, false, "organization initech"},
		{"expression", []Requirement{{Expression: `"docs:write" in claims.permissions && claims.custom_data.plan == "pro"`}}, editor, true, ""},
		{"custom_data missing key denies", []Requirement{{Expression: `claims.custom_data.plan == "pro"`}}, bare, false, `claims.custom_data.plan == "pro"`},
		{"auth_time recent", []Requirement{{Expression: `claims.auth_time > timestamp("2000-01-01T00:00:00Z")`}}, editor, true, ""},
		{"logged in within the hour", []Requirement{{Expression: `claims.auth_time > now - duration("1h")`}}, editor, true, ""},
		{"logged in within the last 10s", []Requirement{{Expression: `claims.auth_time > now - duration("10s")`}}, editor, false, `claims.auth_time > now - duration("10s")`},
		{"amr", []Requirement{{Expression: `"webauthn" in claims.amr`}}, editor, false, `"webauthn" in claims.amr`},
		{"request method", []Requirement{{Expression: `request.method == "GET" && request.path.startsWith("/docs")`}}, bare, true, ""},
		{"case-insensitive path", []Requirement{{Expression: `request.path.lowerAscii().startsWith("/docs")`}}, bare, true, ""},
		{"request path deny", []Requirement{{Expression: `!request.path.startsWith("/docs")`}}, bare, false, `!request.path.startsWith("/docs")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := e.requireGuard(t, tc.qs...)
			for i := 0; i < 3; i++ { // first sighting, admission, cached decision
				r := bearerRequest(tc.tok)
				r.Header.Set("Accept", "application/json")
				w, id := serve(g, r)
				if (id != nil) != tc.allowed {
					t.Fatalf("request %d: allowed=%v, want %v: %d %s", i, id != nil, tc.allowed, w.Code, w.Body)
				}
				if tc.allowed {
					continue
				}
				if w.Code != http.StatusForbidden || errorCode(t, w) != "insufficient_scope" {
					t.Fatalf("denial: %d %s", w.Code, w.Body)
				}
				hdr := w.Header().Get("WWW-Authenticate")
				if !strings.HasPrefix(hdr, `Bearer realm="gatehouse", error="insufficient_scope"`) {
					t.Fatalf("WWW-Authenticate = %q", hdr)
				}
				if !strings.Contains(w.Body.String(), quoteSafe(tc.missing)) {
					t.Fatalf("body %s does not name %q", w.Body, tc.missing)
				}
				for _, leak := range []string{"viewer", "globex", "alice@example.com", e.user.ID} {
					if strings.Contains(w.Body.String()+hdr, leak) {
						t.Fatalf("denial leaks the claim value %q: %s %s", leak, hdr, w.Body)
					}
				}
			}
		})
	}
}

// TestRequireBrowserPage: a browser is shown a page that names the requirement, not the
// claims it has.
func TestRequireBrowserPage(t *testing.T) {
	e := newEnv(t)
	tok := e.mintWith(t, func(c *tokens.AccessClaims) { c.Roles = []string{"viewer"}; c.Organization = "globex" })
	g := e.requireGuard(t, Requirement{Roles: []string{"admin"}})
	r := httptest.NewRequest(http.MethodGet, testSite+"/admin", nil)
	r.Header.Set("Accept", "text/html")
	r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_auth", Value: sealFor(t, g, "__Host-gatehouse_auth", tok, "")})
	w, id := serve(g, r)
	if id != nil || w.Code != http.StatusForbidden {
		t.Fatalf("browser: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	if !strings.Contains(body, "role admin") || !strings.Contains(body, "text/html") && !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page does not name the requirement: %s", body)
	}
	for _, leak := range []string{"viewer", "globex"} {
		if strings.Contains(body, leak) {
			t.Fatalf("page leaks %q: %s", leak, body)
		}
	}
}

// TestRequireCachedDecision: a decision that does not read the request is made once per
// credential; one that does is made per request.
func TestRequireCachedDecision(t *testing.T) {
	e := newEnv(t)
	tok := e.mintWith(t, func(c *tokens.AccessClaims) { c.Roles = []string{"editor"} })
	g := e.requireGuard(t, Requirement{Roles: []string{"editor"}})
	if g.require.readsRequest {
		t.Fatal("a role requirement reads the request")
	}
	var id *Identity
	for i := 0; i < 3; i++ {
		_, id = serve(g, bearerRequest(tok))
	}
	if d := id.decision.Load(); d == nil || d.set != g.require || d.failed != -1 {
		t.Fatalf("decision not cached on the identity: %+v", d)
	}
	g2 := e.requireGuard(t, Requirement{Expression: `request.method == "GET"`})
	if !g2.require.readsRequest {
		t.Fatal("request.method not detected as reading the request")
	}
	for i := 0; i < 3; i++ {
		serve(g2, bearerRequest(tok))
	}
	r := bearerRequest(tok)
	r.Method = http.MethodPost
	if w, id := serve(g2, r); id != nil || w.Code != http.StatusForbidden {
		t.Fatalf("POST after cached GETs: %d", w.Code)
	}
}

// TestCompileRequirementErrors: a typo fails when the configuration loads, with CEL's
// message.
func TestCompileRequirementErrors(t *testing.T) {
	for _, tc := range []struct {
		q    Requirement
		want string
	}{
		{Requirement{Expression: `claim.roles.exists(r, r == "x")`}, "undeclared reference to 'claim'"},
		{Requirement{Expression: `"x" in claims.rols`}, "claims.rols is not known"},
		{Requirement{Expression: `request.verb == "GET"`}, "request.verb is not known"},
		{Requirement{Expression: `request.method == 1`}, "no matching overload"},
		{Requirement{Expression: `request.path`}, "must be true or false"},
		{Requirement{Expression: `"x" in claims.roles &&`}, "Syntax error"},
		{Requirement{Expression: `claims.roles.exists(a, claims.permissions.exists(b, claims.groups.exists(c, a == b && b == c)))`}, "more than the limit"},
		{Requirement{Roles: []string{"a b"}}, "no spaces"},
		{Requirement{Roles: []string{"a"}, Organization: "x"}, "exactly one"},
	} {
		_, err := CompileRequirement(tc.q)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.q, err, tc.want)
		}
	}
}

// TestRequireCostLimitAtRunTime: an evaluation over the run-time cost limit denies (fails
// closed), even though the estimate let it load.
func TestRequireCostLimitAtRunTime(t *testing.T) {
	e := newEnv(t)
	many := make([]string, 1300)
	for i := range many {
		many[i] = "r" + strings.Repeat("x", i%4)
	}
	tok := e.mintWith(t, func(c *tokens.AccessClaims) { c.Roles = many })
	g := e.requireGuard(t, Requirement{Expression: `!claims.roles.exists(r, r.startsWith("zz") || r.endsWith("yy") || r.contains("q") || r == "a")`})
	w, id := serve(g, bearerRequest(tok))
	if id != nil {
		t.Fatalf("an evaluation over the cost limit was allowed: %d", w.Code)
	}
	if w.Code != http.StatusForbidden {
		t.Fatalf("over-limit evaluation: %d %s", w.Code, w.Body)
	}
}
