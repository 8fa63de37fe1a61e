package issue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// TestRolesGrantPermissions: issue 18, "a role is a named set of permissions; users get
// roles; the seed's roles, role_values and permissions claims come from them". With
// ExpandUser set (runtime settings), the ID token's claims and the access token carry the
// permissions of the user's roles besides those set on the user directly, which keep
// working.
func TestRolesGrantPermissions(t *testing.T) {
	e := idptest.New(t)
	roles := map[string]settings.Role{"editor": {Name: "editor", Value: "Editor", Permissions: []string{"docs:read", "docs:write"}}}
	e.P.Tokens.ExpandUser = func(u store.User) store.User { return settings.ExpandUser(u, roles) }
	t.Cleanup(func() { e.P.Tokens.ExpandUser = nil })
	u := e.User
	u.Roles, u.Permissions = []string{"editor"}, []string{"billing:read"}
	claims, err := e.P.Tokens.Claims(t.Context(), u, issue.Client{ID: "web"}, []string{"openid"},
		map[string]*issue.ClaimSpec{"roles": nil, "role_values": nil, "permissions": nil})
	if err != nil {
		t.Fatal(err)
	}
	join := func(v any) string {
		l, _ := v.([]string)
		return strings.Join(l, ",")
	}
	if join(claims["roles"]) != "editor" || join(claims["role_values"]) != "Editor" ||
		join(claims["permissions"]) != "billing:read,docs:read,docs:write" {
		t.Fatalf("claims roles %v, role_values %v, permissions %v", claims["roles"], claims["role_values"], claims["permissions"])
	}
	now := time.Now()
	_, c, err := e.P.Tokens.AccessToken(issue.Grant{ID: "g", Client: issue.Client{ID: "web", AccessTokenClaims: []string{"roles", "permissions"}},
		User: u, Scopes: []string{"openid"}, AuthTime: now}, now)
	if err != nil || strings.Join(c.Permissions, ",") != "billing:read,docs:read,docs:write" {
		t.Fatalf("access token permissions %q, %v", c.Permissions, err)
	}
	// Without roles defined, a user's direct permissions are released as before.
	e.P.Tokens.ExpandUser = nil
	claims, err = e.P.Tokens.Claims(t.Context(), u, issue.Client{ID: "web"}, []string{"openid"}, map[string]*issue.ClaimSpec{"permissions": nil})
	if err != nil || join(claims["permissions"]) != "billing:read" {
		t.Fatalf("without roles: %v, %v", claims["permissions"], err)
	}
}
