package issue_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// TestAccessTokenRolesPermissions: a client whose access_token_claims name roles and
// permissions gets access tokens carrying the user's (so that a route decides without a
// store read); another client's tokens carry neither; a long list is capped like groups, at
// whole values.
func TestAccessTokenRolesPermissions(t *testing.T) {
	e := idptest.New(t)
	u := e.User
	u.Roles = []string{"editor", "viewer"}
	u.Permissions = []string{"docs:write", "docs:read"}
	now := time.Now()
	_, c, err := e.P.Tokens.AccessToken(issue.Grant{ID: "g", Client: issue.Client{ID: "web", AccessTokenClaims: []string{"roles", "permissions"}},
		User: u, Scopes: []string{"openid"}, AuthTime: now}, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Roles, ",") != "editor,viewer" || strings.Join(c.Permissions, ",") != "docs:write,docs:read" {
		t.Errorf("roles %q, permissions %q", c.Roles, c.Permissions)
	}
	_, c, err = e.P.Tokens.AccessToken(issue.Grant{ID: "g", Client: issue.Client{ID: "web", AccessTokenClaims: []string{"roles"}},
		User: u, Scopes: []string{"openid"}, AuthTime: now}, now)
	if err != nil || len(c.Permissions) != 0 || len(c.Roles) != 2 {
		t.Errorf("roles only: roles %q, permissions %q, %v", c.Roles, c.Permissions, err)
	}
	_, c, err = e.P.Tokens.AccessToken(issue.Grant{ID: "g", Client: issue.Client{ID: "web"}, User: u, Scopes: []string{"openid"}, AuthTime: now}, now)
	if err != nil || len(c.Roles) != 0 || len(c.Permissions) != 0 {
		t.Errorf("default client: roles %q, permissions %q, %v", c.Roles, c.Permissions, err)
	}
	for i := 0; i < 250; i++ {
		u.Permissions = append(u.Permissions, fmt.Sprintf("permission-number-%04d", i))
	}
	_, c, err = e.P.Tokens.AccessToken(issue.Grant{ID: "g", Client: issue.Client{ID: "web", AccessTokenClaims: []string{"permissions"}},
		User: u, Scopes: []string{"openid"}, AuthTime: now}, now)
	if err != nil || len(c.Permissions) < 2 || len(c.Permissions) >= len(u.Permissions) || len(strings.Join(c.Permissions, ",")) > 2048 {
		t.Fatalf("capped permissions: %d of %d, %v", len(c.Permissions), len(u.Permissions), err)
	}
	for i, p := range c.Permissions {
		if p != u.Permissions[i] {
			t.Fatalf("permission %d = %q, want %q", i, p, u.Permissions[i])
		}
	}
}
