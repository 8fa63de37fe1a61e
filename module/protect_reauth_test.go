package module

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// TestProtectReauthLoadErrors: max_age below a second, an acr other than aal2, and app
// credentials allowed on a max_age route fail at load naming the option; valid ones load.
func TestProtectReauthLoadErrors(t *testing.T) {
	for name, c := range map[string]struct {
		p    Protect
		want string
	}{
		"max_age 500ms":   {Protect{MaxAge: caddy.Duration(500 * time.Millisecond)}, "gatehouse_protect.max_age: must be at least 1s"},
		"max_age -1h":     {Protect{MaxAge: caddy.Duration(-time.Hour)}, "gatehouse_protect.max_age"},
		"acr aal3":        {Protect{ACR: "aal3"}, `gatehouse_protect.acr: must be "aal2"`},
		"creds + max_age": {Protect{MFA: true, MFAAllowsAppCredentials: true, MaxAge: caddy.Duration(time.Hour)}, "record no login"},
	} {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	for name, p := range map[string]Protect{
		"max_age 1h":                {MaxAge: caddy.Duration(time.Hour)},
		"acr aal2":                  {ACR: "aal2"},
		"acr aal2 + app credential": {ACR: "aal2", MFAAllowsAppCredentials: true},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestClientAccessTokenClaimsValidation: access_token_claims names only claims access tokens
// can carry (roles, permissions); another name fails at load naming the option and listing
// the known ones, and idp.NewClient refuses it too.
func TestClientAccessTokenClaimsValidation(t *testing.T) {
	c := ClientConfig{ID: "web", RedirectURIs: []string{"https://app.example.com/cb"}, AccessTokenClaims: []string{"roles", "salary"}}
	v := NewValidator()
	c.check(v, "clients[0]")
	err := v.Err()
	if err == nil || !strings.Contains(err.Error(), "clients[0].access_token_claims[1]") || !strings.Contains(err.Error(), "permissions, roles") {
		t.Errorf("validation: %v", err)
	}
	if _, err := idp.NewClient(c.IDP("")); err == nil || !strings.Contains(err.Error(), `"salary"`) {
		t.Errorf("idp.NewClient accepts salary: %v", err)
	}
	c.AccessTokenClaims = []string{"roles", "permissions"}
	if _, err := idp.NewClient(c.IDP("")); err != nil {
		t.Errorf("roles permissions: %v", err)
	}
}
