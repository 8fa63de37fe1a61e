package module

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
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
