package module

import (
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// trust_email_verified defaults to on for every preset (the OpenID presets verify the
// address they mark email_verified; github reads only the addresses its verified-emails API
// marks verified) and can be turned off per provider.
func TestSocialTrustEmailVerifiedDefault(t *testing.T) {
	off := false
	for _, c := range []struct {
		cfg  SocialConfig
		want bool
	}{
		{SocialConfig{Name: "google", ClientID: "c", ClientSecret: "s"}, true},
		{SocialConfig{Name: "github", ClientID: "c", ClientSecret: "s"}, true},
		{SocialConfig{Name: "corp", Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s"}, true},
		{SocialConfig{Name: "corp", Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s", TrustEmailVerified: &off}, false},
	} {
		sp, err := c.cfg.IDP(caddy.NewReplacer(), true)
		if err != nil {
			t.Fatalf("%s: %v", c.cfg.Name, err)
		}
		if sp.TrustEmailVerified != c.want {
			t.Errorf("%s (trust_email_verified %v): TrustEmailVerified %v, want %v", c.cfg.Name, c.cfg.TrustEmailVerified, sp.TrustEmailVerified, c.want)
		}
	}
}
