// Package caddyfile adapts Gatehouse's Caddyfile syntax to its JSON configuration: the
// `gatehouse` global option (the app) and the `gatehouse_portal` and `gatehouse_protect`
// directives, with their default order in the handler chain. Every mistake is reported with
// the option's name and the file and line (caddyfile.Dispenser.Errf). Nothing imports this
// package except the root package's blank import.
package caddyfile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/module"
	"github.com/gatehouse-dev/gatehouse/secret"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("gatehouse", parseGlobal)
}

// loginMethods are the values of the login option.
var loginMethods = []string{"password", "passkey", "email_code", "magic_link", "sms_code"}

// parseGlobal parses the `gatehouse` global option:
//
//	gatehouse {
//		issuer <url>
//		storage badger [<path>] | postgres <dsn> [{ schema <name>; purge_interval <d> }]
//		tenant_id <id>
//		signup open|closed|invite
//		signup_reveals_existing          # old sign-up: 409 for a registered address (enumeration)
//		login <method...>
//		product_name <name>
//		session {
//			idle <duration>
//			lifetime <duration>
//		}
//		tokens {
//			access_token_lifetime <duration>
//			id_token_lifetime <duration>
//			refresh_token_lifetime <duration>
//			refresh_token_idle <duration>
//			code_lifetime <duration>
//			access_token_alg RS256|ES256|EdDSA
//			id_token_alg RS256|ES256|EdDSA
//			leeway <duration>
//		}
//		lockout {
//			account_max_failures <n>
//			ip_max_failures <n>
//			window <duration>
//		}
//		keys {
//			rotate_every <duration>
//		}
//		client <id> {
//			name <name>
//			secret <secret>              # a placeholder: {env.CLIENT_SECRET} or {file./run/secrets/client}
//			secret_hash <hash>           # instead of secret: the output of `gatehouse hash-secret`
//			redirect_uri <uri...>
//			post_logout_redirect_uri <uri...>
//			scopes <scope...>
//			grant_types authorization_code|refresh_token|client_credentials...
//			pkce required|optional
//			access_token_lifetime|id_token_lifetime|refresh_token_lifetime|refresh_token_idle <duration>
//			id_token_alg RS256|ES256|EdDSA
//			resource <uri...>
//			backchannel_logout_uri <uri>
//		}
//	}
func parseGlobal(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("gatehouse: the global option may appear only once")
	}
	app := new(module.App)
	d.Next() // "gatehouse"
	start := d.Line()
	if d.NextArg() {
		return nil, d.Errf("gatehouse: unexpected argument %q (options go in a block)", d.Val())
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "issuer":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			if !strings.Contains(v, "{") {
				if err := module.ValidateIssuer(v); err != nil {
					return nil, d.Errf("gatehouse: issuer %q %v", v, err)
				}
			}
			app.Issuer = v
		case "storage":
			raw, err := parseStorage(d)
			if err != nil {
				return nil, err
			}
			app.StorageRaw = raw
		case "tenant_id":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			app.TenantID = v
		case "signup":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			if v != idp.SignupOpen && v != idp.SignupClosed && v != idp.SignupInvite {
				return nil, d.Errf("gatehouse: signup %q: use open, closed or invite", v)
			}
			app.Signup = v
		case "signup_reveals_existing":
			if d.NextArg() {
				return nil, d.Errf("gatehouse: signup_reveals_existing takes no value (leave it out to keep registered addresses secret)")
			}
			app.SignupRevealsExisting = true
		case "login":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.Errf("gatehouse: login: list at least one method (available: %s)", strings.Join(loginMethods, ", "))
			}
			for _, m := range args {
				if !slices.Contains(loginMethods, m) {
					return nil, d.Errf("gatehouse: login method %q is not available (available: %s)", m, strings.Join(loginMethods, ", "))
				}
			}
			app.Login = args
		case "product_name":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			app.Branding.ProductName = v
		case "session":
			if err := parseSession(d, &app.Sessions); err != nil {
				return nil, err
			}
		case "tokens":
			if err := parseTokens(d, &app.Tokens); err != nil {
				return nil, err
			}
		case "lockout":
			if err := parseLockout(d, &app.Lockout); err != nil {
				return nil, err
			}
		case "keys":
			if d.NextArg() {
				return nil, d.Errf("gatehouse: keys takes a block, not %q", d.Val())
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				switch opt := d.Val(); opt {
				case "rotate_every":
					v, err := durationArg(d, "keys ")
					if err != nil {
						return nil, err
					}
					if time.Duration(v) < time.Hour {
						return nil, d.Errf("gatehouse: keys rotate_every must be at least 1h")
					}
					app.Keys.RotateEvery = v
				default:
					return nil, d.Errf("gatehouse: keys: unknown option %q (options: rotate_every)", opt)
				}
			}
		case "passkeys":
			if d.NextArg() {
				return nil, d.Errf("gatehouse: passkeys takes a block, not %q", d.Val())
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				switch opt := d.Val(); opt {
				case "rp_id":
					v, err := oneArg(d)
					if err != nil {
						return nil, err
					}
					app.Passkeys.RPID = v
				case "rp_name":
					v, err := oneArg(d)
					if err != nil {
						return nil, err
					}
					app.Passkeys.RPName = v
				case "origins":
					args := d.RemainingArgs()
					if len(args) == 0 {
						return nil, d.Errf("gatehouse: passkeys origins: list at least one origin, such as https://login.example.com")
					}
					app.Passkeys.Origins = append(app.Passkeys.Origins, args...)
				default:
					return nil, d.Errf("gatehouse: passkeys: unknown option %q (options: rp_id, rp_name, origins)", opt)
				}
			}
		case "email":
			if err := parseEmail(d, app); err != nil {
				return nil, err
			}
		case "sms":
			if err := parseSMS(d, app); err != nil {
				return nil, err
			}
		case "branding":
			if err := parseBranding(d, &app.Branding); err != nil {
				return nil, err
			}
		case "social":
			c, err := parseSocial(d)
			if err != nil {
				return nil, err
			}
			for _, other := range app.Social {
				if other.Name == c.Name {
					return nil, d.Errf("gatehouse: social provider %q is defined twice", c.Name)
				}
			}
			app.Social = append(app.Social, c)
		case "social_limits":
			if err := parseSocialLimits(d, &app.SocialLimits); err != nil {
				return nil, err
			}
		case "client":
			c, err := parseClient(d)
			if err != nil {
				return nil, err
			}
			for _, other := range app.Clients {
				if other.ID == c.ID {
					return nil, d.Errf("gatehouse: client %q is defined twice", c.ID)
				}
			}
			app.Clients = append(app.Clients, c)
		default:
			return nil, d.Errf("gatehouse: unknown option %q (options: issuer, storage, tenant_id, signup, signup_reveals_existing, login, product_name, branding, email, sms, session, tokens, lockout, keys, passkeys, social, social_limits, client)", opt)
		}
	}
	if app.Issuer == "" {
		return nil, fmt.Errorf("%s:%d - gatehouse: issuer is required (for example: issuer https://login.example.com)", d.File(), start)
	}
	var warnings []caddyconfig.Warning
	return httpcaddyfile.App{Name: "gatehouse", Value: caddyconfig.JSON(app, &warnings)}, nil
}

func oneArg(d *caddyfile.Dispenser) (string, error) {
	opt := d.Val()
	args := d.RemainingArgs()
	if len(args) != 1 {
		return "", d.Errf("gatehouse: %s takes exactly one value", opt)
	}
	return args[0], nil
}

func durationArg(d *caddyfile.Dispenser, prefix string) (caddy.Duration, error) {
	opt := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, d.Errf("gatehouse: %s%s %q: use a positive duration such as 10m, 12h or 7d", prefix, opt, v)
	}
	return caddy.Duration(dur), nil
}

func intArg(d *caddyfile.Dispenser, prefix string) (int, error) {
	opt := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, d.Errf("gatehouse: %s%s %q: use a positive whole number", prefix, opt, v)
	}
	return n, nil
}

func parseSession(d *caddyfile.Dispenser, s *module.SessionConfig) error {
	if d.NextArg() {
		return d.Err("gatehouse: session takes no arguments, only a block of options")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "idle":
			s.Idle, err = durationArg(d, "session ")
		case "lifetime":
			s.Lifetime, err = durationArg(d, "session ")
		default:
			return d.Errf("gatehouse: session: unknown option %q (options: idle, lifetime)", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseTokens(d *caddyfile.Dispenser, t *module.TokenConfig) error {
	if d.NextArg() {
		return d.Err("gatehouse: tokens takes no arguments, only a block of options")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "access_token_lifetime":
			if t.AccessTokenLifetime, err = durationArg(d, "tokens "); err == nil && time.Duration(t.AccessTokenLifetime) > 24*time.Hour {
				return d.Errf("gatehouse: tokens access_token_lifetime must be at most 24h (use refresh tokens for long sessions)")
			}
		case "id_token_lifetime":
			t.IDTokenLifetime, err = durationArg(d, "tokens ")
		case "refresh_token_lifetime":
			t.RefreshTokenLifetime, err = durationArg(d, "tokens ")
		case "refresh_token_idle":
			t.RefreshTokenIdle, err = durationArg(d, "tokens ")
		case "code_lifetime":
			if t.CodeLifetime, err = durationArg(d, "tokens "); err == nil && time.Duration(t.CodeLifetime) > 10*time.Minute {
				return d.Errf("gatehouse: tokens code_lifetime must be at most 10m (RFC 6749 §4.1.2)")
			}
		case "leeway":
			if t.Leeway, err = durationArg(d, "tokens "); err == nil && time.Duration(t.Leeway) > 5*time.Minute {
				return d.Errf("gatehouse: tokens leeway must be at most 5m")
			}
		case "access_token_alg", "id_token_alg":
			var v string
			if v, err = oneArg(d); err == nil {
				if !keys.ValidAlg(v) {
					return d.Errf("gatehouse: tokens %s %q: use RS256, ES256 or EdDSA", opt, v)
				}
				if opt == "access_token_alg" {
					t.AccessTokenAlg = v
				} else {
					t.IDTokenAlg = v
				}
			}
		default:
			return d.Errf("gatehouse: tokens: unknown option %q (options: access_token_lifetime, id_token_lifetime, refresh_token_lifetime, refresh_token_idle, code_lifetime, access_token_alg, id_token_alg, leeway)", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseLockout(d *caddyfile.Dispenser, l *module.LockoutConfig) error {
	if d.NextArg() {
		return d.Err("gatehouse: lockout takes no arguments, only a block of options")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "account_max_failures":
			l.AccountMaxFailures, err = intArg(d, "lockout ")
		case "ip_max_failures":
			l.IPMaxFailures, err = intArg(d, "lockout ")
		case "window":
			l.Window, err = durationArg(d, "lockout ")
		default:
			return d.Errf("gatehouse: lockout: unknown option %q (options: account_max_failures, ip_max_failures, window)", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseClient(d *caddyfile.Dispenser) (module.ClientConfig, error) {
	var c module.ClientConfig
	args := d.RemainingArgs()
	if len(args) != 1 {
		return c, d.Errf("gatehouse: client: expected `client <id> { ... }`")
	}
	c.ID = args[0]
	line := d.Line()
	p := "client " + c.ID + ": "
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "name":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			c.Name = v
		case "secret":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			if !strings.Contains(v, "{") && len(v) < 16 {
				return c, d.Errf("gatehouse: %ssecret must be at least 16 characters (generate one with `openssl rand -base64 32`)", p)
			}
			c.Secret = v
		case "secret_hash":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			if _, _, err := secret.ParseClientSecretHash(v); err != nil {
				return c, d.Errf("gatehouse: %ssecret_hash: %v", p, err)
			}
			c.SecretHash = v
		case "redirect_uri", "post_logout_redirect_uri":
			uris := d.RemainingArgs()
			if len(uris) == 0 {
				return c, d.Errf("gatehouse: %s%s: give at least one URI", p, opt)
			}
			for _, u := range uris {
				if err := idp.ValidateRedirectURI(u); err != nil {
					return c, d.Errf("gatehouse: %s%s %q: %v", p, opt, u, err)
				}
			}
			if opt == "redirect_uri" {
				c.RedirectURIs = append(c.RedirectURIs, uris...)
			} else {
				c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, uris...)
			}
		case "scopes":
			s := d.RemainingArgs()
			if len(s) == 0 {
				return c, d.Errf("gatehouse: %sscopes: list at least one scope", p)
			}
			c.Scopes = append(c.Scopes, s...)
		case "grant_types":
			g := d.RemainingArgs()
			for _, t := range g {
				if t != idp.GrantAuthorizationCode && t != idp.GrantRefreshToken && t != idp.GrantClientCredentials {
					return c, d.Errf("gatehouse: %sgrant type %q is not supported (use authorization_code, refresh_token, client_credentials)", p, t)
				}
			}
			if len(g) == 0 {
				return c, d.Errf("gatehouse: %sgrant_types: list at least one grant type", p)
			}
			c.GrantTypes = g
		case "pkce":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			if v != "required" && v != "optional" {
				return c, d.Errf("gatehouse: %spkce %q: use required or optional", p, v)
			}
			c.PKCE = v
		case "access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime", "refresh_token_idle":
			dur, err := durationArg(d, p)
			if err != nil {
				return c, err
			}
			switch opt {
			case "access_token_lifetime":
				if time.Duration(dur) > 24*time.Hour {
					return c, d.Errf("gatehouse: %saccess_token_lifetime must be at most 24h", p)
				}
				c.AccessTokenLifetime = dur
			case "id_token_lifetime":
				c.IDTokenLifetime = dur
			case "refresh_token_lifetime":
				c.RefreshTokenLifetime = dur
			default:
				c.RefreshTokenIdle = dur
			}
		case "id_token_alg":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			if !keys.ValidAlg(v) {
				return c, d.Errf("gatehouse: %sid_token_alg %q: use RS256, ES256 or EdDSA", p, v)
			}
			c.IDTokenAlg = v
		case "resource", "resources":
			rs := d.RemainingArgs()
			if len(rs) == 0 {
				return c, d.Errf("gatehouse: %s%s: give at least one resource URI", p, opt)
			}
			for _, r := range rs {
				if err := idp.ValidateResource(r); err != nil {
					return c, d.Errf("gatehouse: %sresource %q: %v", p, r, err)
				}
			}
			c.Resources = append(c.Resources, rs...)
		case "backchannel_logout_uri":
			v, err := oneArg(d)
			if err != nil {
				return c, err
			}
			if err := idp.ValidateRedirectURI(v); err != nil {
				return c, d.Errf("gatehouse: %sbackchannel_logout_uri %q: %v", p, v, err)
			}
			c.BackchannelLogoutURI = v
		default:
			return c, d.Errf("gatehouse: %sunknown option %q (options: name, secret, secret_hash, redirect_uri, post_logout_redirect_uri, scopes, grant_types, pkce, access_token_lifetime, id_token_lifetime, refresh_token_lifetime, refresh_token_idle, id_token_alg, resource, backchannel_logout_uri)", p, opt)
		}
	}
	if _, err := idp.NewClient(c.IDP(placeholderSafe(c.Secret))); err != nil {
		// The problem concerns the client as a whole: report the line of `client <id>`.
		return c, fmt.Errorf("%s:%d - Error during parsing: gatehouse: %v", d.File(), line, err)
	}
	return c, nil
}

func placeholderSafe(s string) string {
	if strings.Contains(s, "{") {
		return "placeholder-secret-value"
	}
	return s
}
