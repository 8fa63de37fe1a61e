package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/tokens"
)

// requireSites: App is protected as a whole with a claim expression on the path (an admin
// area) and one on the method; App2 uses the shorthands.
const requireSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		require !request.path.startsWith("/admin") || "admin" in claims.roles
		require ` + "`" + `request.method in ["GET", "HEAD"] || "docs:write" in claims.permissions` + "`" + `
	}
	reverse_proxy {{.UpstreamAddr}}
}

{{.App2}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		role admin editor
		permission docs:write
		organization acme
	}
	reverse_proxy {{.UpstreamAddr}}
}`

// TestClaimExpressions: PX-13, PX-12, JW-25 — README "Claim expressions" — every require line must hold; role,
// permission and organization hold when the token's claim has any of the listed names. A
// denial is 403 with error="insufficient_scope" (RFC 6750 §3.1: "The request requires higher
// privileges than provided by the access token. The resource server SHOULD respond with the
// HTTP 403 (Forbidden) status code") naming the requirement, never the token's claims, and
// the upstream never sees the request. Path-normalised variants of the admin path are refused
// by the canonical-path check or judged on the path the upstream gets.
func TestClaimExpressions(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: requireSites})
	e.CreateUser("rita@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "rita@example.test", Password)
	at := e.Tokens(b, "app", e.RP+"/app-cb", "openid email read:docs")["access_token"].(string)
	_, payload, _ := splitJWT(t, at)
	key, err := Provider(t).Keys.Signer("RS256")
	if err != nil {
		t.Fatal(err)
	}
	// Tokens carrying roles, permissions and organization, signed with the gateway's key as
	// the provider signs them.
	n := 0
	mint := func(roles, perms []string, org string) string {
		n++
		c := map[string]any{}
		for k, v := range payload {
			c[k] = v
		}
		now := time.Now().Unix()
		c["jti"], c["iat"], c["exp"] = "require-"+string(rune('a'+n)), now, now+120
		c["roles"], c["permissions"], c["organization"] = roles, perms, org
		tok, err := tokens.Sign(key, tokens.TypeAccessToken, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := mint([]string{"admin"}, []string{"docs:read"}, "acme")
	editor := mint([]string{"editor"}, []string{"docs:write"}, "acme")
	viewer := mint([]string{"viewer"}, []string{"docs:read"}, "globex")

	send := func(method, url, tok string) *Resp {
		req := NewRequest(t, method, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		return Do(t, http.DefaultClient, req)
	}
	denied := func(r *Resp, want string) {
		t.Helper()
		w := wwwAuth(r)
		if r.Status != http.StatusForbidden || !strings.Contains(w, `error="insufficient_scope"`) || !strings.Contains(string(r.Body), want) {
			t.Errorf("want 403 insufficient_scope naming %q, got %s (WWW-Authenticate %q)", want, r, w)
		}
		for _, leak := range []string{"viewer", "globex", "rita@"} {
			if strings.Contains(string(r.Body)+w, leak) {
				t.Errorf("denial leaks the claim value %q: %s %s", leak, w, r.Body)
			}
		}
	}
	before := e.Upstream.Count()
	for i := 0; i < 3; i++ { // the verification, the cache admission, then cached decisions
		denied(send(http.MethodGet, e.App+"/admin/users", viewer), "admin  in claims.roles")
		denied(send(http.MethodPost, e.App+"/docs/1", viewer), "docs:write  in claims.permissions")
		denied(send(http.MethodGet, e.App2+"/x", viewer), "role admin or editor")
		denied(send(http.MethodGet, e.App2+"/x", admin), "permission docs:write")
	}
	if got := e.Upstream.Count(); got != before {
		t.Fatalf("%d denied requests reached the upstream", got-before)
	}
	for _, c := range []struct{ method, url, tok string }{
		{http.MethodGet, e.App + "/admin/users", admin},
		{http.MethodGet, e.App + "/docs/1", viewer},
		{http.MethodPost, e.App + "/docs/1", editor},
		{http.MethodGet, e.App2 + "/x", editor},
		{http.MethodGet, e.App2 + "/x", editor},
		{http.MethodGet, e.App2 + "/x", editor},
	} {
		if r := send(c.method, c.url, c.tok); r.Status != http.StatusOK {
			t.Errorf("%s %s: want 200, got %s", c.method, c.url, r)
		}
	}
	// PX-12: request.method is the method the upstream gets; an override header does not
	// change it (and is stripped).
	ov := NewRequest(t, http.MethodPost, e.App+"/docs/1", nil)
	ov.Header.Set("Authorization", "Bearer "+viewer)
	ov.Header.Set("X-HTTP-Method-Override", "GET")
	denied(Do(t, http.DefaultClient, ov), "docs:write  in claims.permissions")
	// A token without the claims at all (the provider's own) meets no shorthand.
	denied(send(http.MethodGet, e.App2+"/x", at), "role admin or editor")

	// Path-normalised variants of /admin with the viewer's token: refused before any
	// decision (400), or judged on exactly the path the upstream receives.
	addr := strings.TrimPrefix(e.App, "http://")
	for _, p := range []string{"/a/../admin/users", "//admin/users", "/./admin/users", "/%61dmin/users", "/admin%2fusers", "/ADMIN/users", "/admin;x/users", "/admin/../admin/users"} {
		before := e.Upstream.Count()
		r, err := pcSendH1(addr, p, [][2]string{{"Authorization", "Bearer " + viewer}, {"Accept", "application/json"}})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		t.Logf("%s: %d", p, r.Status)
		switch {
		case r.Status == http.StatusBadRequest || r.Status == http.StatusForbidden:
			if e.Upstream.Count() != before {
				t.Errorf("%s: refused with %d but the upstream saw it", p, r.Status)
			}
		case r.Status == http.StatusOK:
			rec := e.Upstream.Last(t)
			if strings.HasPrefix(strings.ToLower(pcPercentDecode(rec.URI)), "/admin/") && strings.HasPrefix(rec.URI, "/admin") {
				t.Errorf("%s: the viewer reached the admin area as %q", p, rec.URI)
			}
			if rec.URI != p {
				t.Errorf("%s: allowed, but the upstream got %q, not the path judged", p, rec.URI)
			}
		default:
			t.Errorf("%s: unexpected %d %s", p, r.Status, r.Body)
		}
	}

	// A browser whose session carries no roles is shown a page that names the requirement.
	page := b.Go(http.MethodGet, e.App+"/admin/users", nil, nil)
	if page.Status != http.StatusForbidden || !strings.Contains(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page.Body), "requires") || !strings.Contains(string(page.Body), "in claims.roles") {
		t.Fatalf("browser denial: %s", page)
	}
	if strings.Contains(string(page.Body), "rita@") {
		t.Errorf("denial page shows claim values: %s", page.Body)
	}
	if r := b.Go(http.MethodGet, e.App+"/docs/1", nil, nil); r.Status != http.StatusOK {
		t.Errorf("browser outside the admin area: %s", r)
	}
}
