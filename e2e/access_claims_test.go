package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// rolesClient is AppClient whose access tokens carry the user's roles and permissions.
const rolesClient = `
		client app {
			name "Test app"
			redirect_uri {{.App}}/.gatehouse/callback {{.RP}}/app-cb
			scopes openid profile email offline_access read:docs
			access_token_claims roles permissions
		}`

const rolesSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		header X-Roles {gatehouse.user.roles}
		header X-Permissions {gatehouse.user.permissions}
	}
	reverse_proxy {{.UpstreamAddr}}
}`

// TestAccessTokenRolesPermissionsReachRoute: a client configured with `access_token_claims
// roles permissions` issues access tokens carrying the user's roles and permissions (set
// through the admin API), and gatehouse_protect exposes them to header templates, for a
// bearer token and for a browser session; client-sent copies never pass (PX-01).
func TestAccessTokenRolesPermissionsReachRoute(t *testing.T) {
	e := Start(t, Config{Gatehouse: rolesClient, Sites: rolesSites})
	id := e.CreateUser("dave@example.test")
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+id, map[string]any{"roles": []string{"editor", "viewer"},
		"permissions": []string{"docs:write", "docs:read"}}); r.Status != http.StatusOK {
		t.Fatalf("set roles: %s", r)
	}
	b := NewBrowser(t)
	e.PortalLogin(b, "dave@example.test", Password)
	at := e.AccessToken(b, "openid")
	r := RawRequest(t, e.AppAddr(), spoofRequest(e, "/docs", "Authorization: Bearer "+at, "X-Roles: SPOOF-admin", "x_permissions: SPOOF-all"))
	if r.Status != http.StatusOK {
		t.Fatalf("bearer: %s", r)
	}
	rec := e.Upstream.Last(t)
	checkNoSpoof(t, rec, at)
	wantHeader(t, rec, "X-Roles", "editor,viewer")
	wantHeader(t, rec, "X-Permissions", "docs:write,docs:read")

	if r := b.Go(http.MethodGet, e.App+"/start", nil, nil); r.Status != http.StatusOK || r.URL.Path != "/start" {
		t.Fatalf("browser: %s", r)
	}
	rec = e.Upstream.Last(t)
	if got := strings.Join(rec.Values("X-Permissions"), ","); got != "docs:write,docs:read" {
		t.Errorf("browser session: X-Permissions %q", got)
	}
}
