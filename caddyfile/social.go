package caddyfile

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseSocial parses
//
//	social <name> {
//		preset google|microsoft|gitlab|apple|github|oidc
//		label "Google"
//		issuer https://accounts.example.com
//		tenant common
//		client_id <id>
//		client_secret {env.GOOGLE_CLIENT_SECRET}
//		team_id <apple team>
//		key_id <apple key>
//		private_key {file./etc/gatehouse/AuthKey.p8}
//		scopes openid email profile
//		groups_claim groups
//		import_groups staff admins
//		allowed_domains example.com
//		required_groups staff
//		onboarding on|off
//		trust_email_verified on|off
//		auth_url / token_url / api_url <url>
//	}
func parseSocial(d *caddyfile.Dispenser) (module.SocialConfig, error) {
	var c module.SocialConfig
	args := d.RemainingArgs()
	if len(args) != 1 {
		return c, d.Errf("gatehouse: social: expected `social <name> { ... }`")
	}
	c.Name = args[0]
	str := map[string]*string{"preset": &c.Preset, "label": &c.Label, "issuer": &c.Issuer, "tenant": &c.Tenant,
		"client_id": &c.ClientID, "client_secret": &c.ClientSecret, "team_id": &c.TeamID, "key_id": &c.KeyID,
		"private_key": &c.PrivateKey, "groups_claim": &c.GroupsClaim, "auth_url": &c.AuthURL,
		"token_url": &c.TokenURL, "api_url": &c.APIURL}
	lists := map[string]*[]string{"scopes": &c.Scopes, "import_groups": &c.ImportGroups,
		"allowed_domains": &c.AllowedDomains, "required_groups": &c.RequiredGroups}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if p, ok := str[opt]; ok {
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			*p = v
			continue
		}
		if p, ok := lists[opt]; ok {
			vals := d.RemainingArgs()
			if len(vals) == 0 {
				return c, d.Errf("gatehouse: social %s: %s needs at least one value", c.Name, opt)
			}
			*p = append(*p, vals...)
			continue
		}
		switch opt {
		case "onboarding", "trust_email_verified":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			if v != "on" && v != "off" {
				return c, d.Errf("gatehouse: social %s: %s %q: use on or off", c.Name, opt, v)
			}
			on := v == "on"
			if opt == "onboarding" {
				c.Onboarding = &on
			} else {
				c.TrustEmailVerified = &on
			}
		default:
			return c, d.Errf("gatehouse: social %s: unknown option %q (options: preset, label, issuer, tenant, client_id, client_secret, team_id, key_id, private_key, scopes, groups_claim, import_groups, allowed_domains, required_groups, onboarding, trust_email_verified, auth_url, token_url, api_url)", c.Name, opt)
		}
	}
	return c, nil
}

// parseSocialLimits parses, in the gatehouse option,
//
//	social_limits {
//		max_unfinished_per_ip <n>   # default 60
//		window <duration>           # default 10m
//	}
//
// (module.SocialLimitsConfig: social logins a client IP may leave unfinished).
func parseSocialLimits(d *caddyfile.Dispenser, l *module.SocialLimitsConfig) error {
	if d.NextArg() {
		return d.Err("gatehouse: social_limits takes no arguments, only a block of options")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "max_unfinished_per_ip":
			l.MaxUnfinishedPerIP, err = intArg(d, "social_limits ")
		case "window":
			l.Window, err = durationArg(d, "social_limits ")
		default:
			return d.Errf("gatehouse: social_limits: unknown option %q (options: max_unfinished_per_ip, window)", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
