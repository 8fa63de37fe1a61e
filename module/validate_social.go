package module

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
)

var socialNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// preset returns the provider's preset: the configured one, else the name if it is a
// preset, else oidc.
func (c SocialConfig) preset() string {
	switch {
	case c.Preset != "":
		return c.Preset
	case slices.Contains(socialPresets, c.Name):
		return c.Name
	}
	return "oidc"
}

// check records the problems of one social provider under path (gatehouse.social[google]);
// signup is the app's signup mode.
func (c SocialConfig) check(v *Validator, path, signup string) {
	if !socialNameRe.MatchString(c.Name) {
		v.Errorf(path+".name", "must be 1 to 32 lowercase letters, digits, - or _ (it appears in the callback URL), got %q", c.Name)
	}
	preset := c.preset()
	if !slices.Contains(socialPresets, preset) {
		v.Errorf(path+".preset", "must be one of %s, got %q", strings.Join(socialPresets, ", "), preset)
		return
	}
	if c.ClientID == "" {
		v.Errorf(path+".client_id", "is required: the client ID registered at the provider")
	} else {
		v.resolve(path+".client_id", c.ClientID)
	}
	apple := preset == "apple" && c.PrivateKey != ""
	switch {
	case apple:
		if key, ok := v.resolve(path+".private_key", c.PrivateKey); ok {
			if _, err := parseAppleKey(key); err != nil {
				v.Errorf(path+".private_key", "must be Apple's .p8 key (PKCS #8 PEM, P-256), got a value that fails: %v", err)
			}
		}
		if c.TeamID == "" {
			v.Errorf(path+".team_id", "is required with private_key: the Apple developer team ID")
		}
		if c.KeyID == "" {
			v.Errorf(path+".key_id", "is required with private_key: the ID of the Sign in with Apple key")
		}
		if c.ClientSecret != "" {
			v.Warnf(path+".client_secret", "is ignored: with private_key the client secret is made from the key")
		}
	case c.ClientSecret == "":
		if preset == "apple" {
			v.Errorf(path+".client_secret", "is required, or team_id, key_id and private_key to make it")
		} else {
			v.Errorf(path+".client_secret", "is required: the client secret registered at the provider")
		}
	default:
		v.resolve(path+".client_secret", c.ClientSecret)
		if !isPlaceholder(c.ClientSecret) {
			v.Warnf(path+".client_secret", "is written in the configuration, which Caddy's config API and autosave.json show: "+
				"give it as {env.NAME} or {file.path}")
		}
	}
	if preset != "apple" {
		for _, f := range []struct{ name, val string }{{"team_id", c.TeamID}, {"key_id", c.KeyID}, {"private_key", c.PrivateKey}} {
			if f.val != "" {
				v.Warnf(path+"."+f.name, "is ignored: only the apple preset uses it, got preset %s", preset)
			}
		}
	}
	switch {
	case preset == "github" && c.Issuer != "":
		v.Warnf(path+".issuer", "is ignored: GitHub is not an OpenID provider (set auth_url, token_url and api_url for GitHub Enterprise)")
	case preset == "oidc" && c.Issuer == "":
		v.Errorf(path+".issuer", "is required for preset oidc: the provider's OpenID issuer URL, such as https://sso.example.com")
	case c.Issuer != "":
		if err := checkHTTPSURL(c.Issuer); err != nil {
			v.Errorf(path+".issuer", "%v, got %q", err, c.Issuer)
		}
	}
	if c.Tenant != "" && preset != "microsoft" {
		v.Warnf(path+".tenant", "is ignored: only the microsoft preset uses it, got preset %s", preset)
	}
	for _, f := range []struct{ name, url string }{{"auth_url", c.AuthURL}, {"token_url", c.TokenURL}, {"api_url", c.APIURL}} {
		switch {
		case f.url == "":
		case preset != "github":
			v.Warnf(path+"."+f.name, "is ignored: only the github preset uses it, got preset %s", preset)
		default:
			// The client secret and the user's access token travel to these: never in clear.
			if err := checkHTTPSURL(f.url); err != nil {
				v.Errorf(path+"."+f.name, "%v, got %q", err, f.url)
			}
		}
	}
	for i, s := range c.Scopes {
		if !validScopeToken(s) {
			v.Errorf(index(path+".scopes", i), "must be printable ASCII without spaces, quotes or backslashes, got %q", s)
		}
	}
	c.checkGroups(v, path, preset)
	for i, d := range c.AllowedDomains {
		if d == "" || strings.ContainsAny(d, "@/ :") {
			v.Errorf(index(path+".allowed_domains", i), "must be a bare domain such as example.com, got %q", d)
		}
	}
	onboarding := signup == idp.SignupOpen
	if c.Onboarding != nil {
		onboarding = *c.Onboarding
	}
	closed := signup == "" || signup == idp.SignupClosed || signup == idp.SignupInvite
	if onboarding && closed && len(c.AllowedDomains)+len(c.RequiredGroups) == 0 {
		v.Warnf(path+".onboarding", "is on while signup is %s: anyone with an account at %s gets an account here; "+
			"limit it with allowed_domains or required_groups", cmp.Or(signup, idp.SignupClosed), preset)
	}
	if v.HasErrors(path) {
		return
	}
	// What the provider's constructor refuses beyond the checks above is still reported
	// here, with the provider's path.
	if _, err := c.IDP(v.Replacer, signup == idp.SignupOpen); err != nil {
		v.Errorf(path, "%v", err)
	}
}

func (c SocialConfig) checkGroups(v *Validator, path, preset string) {
	for i, g := range c.ImportGroups {
		if err := idp.ValidateGroups([]string{g}); err != nil {
			v.Errorf(index(path+".import_groups", i), "must be 1-64 letters, digits and . _ : - (a Gatehouse group name), got %q", g)
		}
	}
	uses := len(c.ImportGroups)+len(c.RequiredGroups) > 0
	switch {
	case uses && preset == "github":
		v.Errorf(path+".groups_claim", "must be an OpenID provider's claim for import_groups and required_groups; GitHub sends none, got preset github")
	case uses && c.GroupsClaim == "" && preset != "gitlab":
		v.Errorf(path+".groups_claim", "is required by import_groups and required_groups: the upstream claim listing the user's groups (often groups)")
	case !uses && c.GroupsClaim != "":
		v.Warnf(path+".groups_claim", "has no effect without import_groups or required_groups")
	}
}

func (c SocialLimitsConfig) check(v *Validator, path string) {
	v.nonNegative(path+".max_unfinished_per_ip", c.MaxUnfinishedPerIP)
	v.duration(path+".window", c.Window, time.Minute, 24*time.Hour, "")
}
