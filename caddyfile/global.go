// Package caddyfile adapts Gatehouse's Caddyfile syntax to its JSON configuration: the
// `gatehouse` global option (the app) and the `gatehouse_portal`, `gatehouse_protect` and
// `gatehouse_sanitize` directives, with their default order in the handler chain.
//
// The adapter checks syntax only — the number of arguments, option and sender names, and
// that a <n> is a positive whole number and a <duration> a positive duration — and reports
// each mistake with the file and line (caddyfile.Dispenser.Errf). Values are checked when the
// configuration is loaded (`caddy validate`, `caddy run`), by package module's validator, so
// that a JSON configuration gets exactly the same checks; the errors name the option's JSON
// path (gatehouse.clients[web].redirect_uris[0]). This package imports only module and
// Caddy, and nothing imports it except the root package's blank import.
package caddyfile

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("gatehouse", parseGlobal)
}

// parseGlobal parses the `gatehouse` global option:
//
//	gatehouse {
//		issuer <url>
//		storage badger [<path>] | postgres <dsn> [{ schema <name>; purge_interval <d> }]
//		tenant_id <id>
//		locale <en|de|fr|es>                 # page and message language without ui_locales/Accept-Language (default en)
//		signup open|closed|invite
//		signup_reveals_existing          # old sign-up: 409 for a registered address (enumeration)
//		login <method...>
//		product_name <name>
//		admin_group <group>              # who may use /api/admin/v1 with a session (default admins)
//		admin_max_age <duration>         # how old an admin's MFA login may be for writes (default 15m)
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
//		audit {
//			retain <duration>            # how long the store keeps audit events (default 90d; 0 is refused)
//		}
//		registration approval|open {     # dynamic client registration (registration.go)
//			initial_access_token <token>
//			no_initial_access_token
//			per_ip_per_hour <n>
//		}
//		par {                            # pushed authorization requests (RFC 9126): POST <issuer>/par
//			lifetime <duration>          # a request_uri's expires_in (default 60s)
//			required                     # every client must push its authorization requests
//		}
//		approval {                       # transaction approval (approval_data of a pushed request)
//			allow otp                    # also an email/SMS code, besides a passkey
//		}
//		client <id> {
//			name <name>
//			secret <secret>              # a placeholder: {env.CLIENT_SECRET} or {file./run/secrets/client}
//			secret_hash <hash>           # instead of secret: the output of `gatehouse hash-secret`
//			redirect_uri <uri...>
//			post_logout_redirect_uri <uri...>
//			scopes <scope...>
//			grant_types authorization_code|refresh_token|client_credentials|device_code...  # device_code: urn:ietf:params:oauth:grant-type:device_code (RFC 8628)
//			pkce required|optional
//			access_token_lifetime|id_token_lifetime|refresh_token_lifetime|refresh_token_idle <duration>
//			id_token_alg RS256|ES256|EdDSA
//			access_token_alg RS256|ES256|EdDSA
//			resource <uri...>
//			backchannel_logout_uri <uri>
//			allowed_origins <origin...>  # public clients: more pages allowed to call /token (CORS)
//			consent required|none        # required: a third-party client, users see a consent page
//			require_pushed_authorization_requests  # this client must use /par (RFC 9126 §6)
//			approval {
//				allow otp                # this client's users may approve with a code
//			}
//			default_journey <name>       # the journey its authorization requests run (journey.go)
//		}
//		journey <name> { step <id> <type> ... }  # see journey.go
//	}
func parseGlobal(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("gatehouse: the global option may appear only once")
	}
	app := new(module.App)
	d.Next() // "gatehouse"
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
		case "locale":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			app.Locale = v
		case "admin_group":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			app.AdminGroup = v
		case "admin_max_age":
			v, err := durationArg(d, "")
			if err != nil {
				return nil, err
			}
			app.AdminMaxAge = v
		case "signup":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
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
				return nil, d.Errf("gatehouse: login: list at least one method (available: %s)", strings.Join(module.LoginMethods(), ", "))
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
			app.Social = append(app.Social, c)
		case "social_limits":
			if err := parseSocialLimits(d, &app.SocialLimits); err != nil {
				return nil, err
			}
		case "registration":
			if app.Registration != nil {
				return nil, d.Err("gatehouse: registration may appear only once")
			}
			r, err := parseRegistration(d)
			if err != nil {
				return nil, err
			}
			app.Registration = r
		case "account":
			if err := parseAccount(d, &app.Account); err != nil {
				return nil, err
			}
		case "metrics":
			if args := d.RemainingArgs(); len(args) != 1 || args[0] != "off" {
				return nil, d.Errf("gatehouse: expected `metrics off` (the metrics are on by default)")
			}
			app.DisableMetrics = true
		case "audit":
			if err := parseAudit(d, app); err != nil {
				return nil, err
			}
		case "par":
			if d.NextArg() {
				return nil, d.Errf("gatehouse: par takes a block, not %q", d.Val())
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				switch opt := d.Val(); opt {
				case "lifetime":
					v, err := durationArg(d, "par ")
					if err != nil {
						return nil, err
					}
					app.PAR.Lifetime = v
				case "required":
					if d.NextArg() {
						return nil, d.Errf("gatehouse: par required takes no value")
					}
					app.PAR.Required = true
				default:
					return nil, d.Errf("gatehouse: par: unknown option %q (options: lifetime, required)", opt)
				}
			}
		case "approval":
			if err := parseApproval(d, &app.Approval, ""); err != nil {
				return nil, err
			}
		case "journey":
			j, err := parseJourney(d)
			if err != nil {
				return nil, err
			}
			app.Journeys = append(app.Journeys, j)
		case "client":
			c, err := parseClient(d)
			if err != nil {
				return nil, err
			}
			app.Clients = append(app.Clients, c)
		default:
			return nil, d.Errf("gatehouse: unknown option %q (options: issuer, storage, tenant_id, locale, signup, signup_reveals_existing, login, product_name, branding, email, sms, session, tokens, lockout, keys, audit, admin_group, admin_max_age, passkeys, social, social_limits, account, metrics, par, approval, journey, client)", opt)
		}
	}
	var warnings []caddyconfig.Warning
	return httpcaddyfile.App{Name: "gatehouse", Value: caddyconfig.JSON(app, &warnings)}, nil
}

// parseAudit parses `audit { retain <duration> }`. A retention of 0 is refused here
// already (the validator refuses it in JSON too): the trail cannot be turned off.
func parseAudit(d *caddyfile.Dispenser, app *module.App) error {
	if d.NextArg() {
		return d.Errf("gatehouse: audit takes a block, not %q", d.Val())
	}
	if app.Audit == nil {
		app.Audit = &module.AuditConfig{}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "retain":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur < 0 {
				return d.Errf("gatehouse: audit retain %q: use a positive duration such as 90d (the default) or 365d", v)
			}
			if dur == 0 {
				return d.Errf("gatehouse: audit retain %q: the audit trail cannot be turned off; use a positive duration such as 90d (the default) or 365d", v)
			}
			r := caddy.Duration(dur)
			app.Audit.Retain = &r
		default:
			return d.Errf("gatehouse: audit: unknown option %q (options: retain)", opt)
		}
	}
	return nil
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
			t.AccessTokenLifetime, err = durationArg(d, "tokens ")
		case "id_token_lifetime":
			t.IDTokenLifetime, err = durationArg(d, "tokens ")
		case "refresh_token_lifetime":
			t.RefreshTokenLifetime, err = durationArg(d, "tokens ")
		case "refresh_token_idle":
			t.RefreshTokenIdle, err = durationArg(d, "tokens ")
		case "code_lifetime":
			t.CodeLifetime, err = durationArg(d, "tokens ")
		case "leeway":
			t.Leeway, err = durationArg(d, "tokens ")
		case "access_token_alg":
			t.AccessTokenAlg, err = oneArg(d)
		case "id_token_alg":
			t.IDTokenAlg, err = oneArg(d)
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
	p := "client " + c.ID + ": "
	str := map[string]*string{"name": &c.Name, "secret": &c.Secret, "secret_hash": &c.SecretHash, "pkce": &c.PKCE,
		"id_token_alg": &c.IDTokenAlg, "access_token_alg": &c.AccessTokenAlg, "backchannel_logout_uri": &c.BackchannelLogoutURI,
		"consent": &c.Consent, "default_journey": &c.DefaultJourney}
	lists := map[string]*[]string{"redirect_uri": &c.RedirectURIs, "post_logout_redirect_uri": &c.PostLogoutRedirectURIs,
		"scopes": &c.Scopes, "grant_types": &c.GrantTypes, "resource": &c.Resources, "resources": &c.Resources,
		"allowed_origins": &c.AllowedOrigins, "allowed_origin": &c.AllowedOrigins, "access_token_claims": &c.AccessTokenClaims}
	durations := map[string]*caddy.Duration{"access_token_lifetime": &c.AccessTokenLifetime,
		"id_token_lifetime": &c.IDTokenLifetime, "refresh_token_lifetime": &c.RefreshTokenLifetime,
		"refresh_token_idle": &c.RefreshTokenIdle}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if v, ok := str[opt]; ok {
			arg, err := oneArg(d)
			if err != nil {
				return c, err
			}
			*v = arg
		} else if v, ok := lists[opt]; ok {
			vals := d.RemainingArgs()
			if len(vals) == 0 {
				return c, d.Errf("gatehouse: %s%s: give at least one value", p, opt)
			}
			*v = append(*v, vals...)
		} else if v, ok := durations[opt]; ok {
			dur, err := durationArg(d, p)
			if err != nil {
				return c, err
			}
			*v = dur
		} else if opt == "require_pushed_authorization_requests" {
			if d.NextArg() {
				return c, d.Errf("gatehouse: %srequire_pushed_authorization_requests takes no value", p)
			}
			c.RequirePushedAuthorizationRequests = true
		} else if opt == "approval" {
			if err := parseApproval(d, &c.Approval, p); err != nil {
				return c, err
			}
		} else {
			return c, d.Errf("gatehouse: %sunknown option %q (options: name, secret, secret_hash, redirect_uri, post_logout_redirect_uri, scopes, grant_types, pkce, access_token_lifetime, id_token_lifetime, refresh_token_lifetime, refresh_token_idle, id_token_alg, access_token_alg, resource, backchannel_logout_uri, allowed_origins, consent, access_token_claims, require_pushed_authorization_requests, approval, default_journey)", p, opt)
		}
	}
	return c, nil
}

// parseApproval parses an `approval { allow <way...> }` block (global, or a client's with
// prefix p).
func parseApproval(d *caddyfile.Dispenser, a *module.ApprovalConfig, p string) error {
	if d.NextArg() {
		return d.Errf("gatehouse: %sapproval takes a block, not %q", p, d.Val())
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "allow":
			ways := d.RemainingArgs()
			if len(ways) == 0 {
				return d.Errf("gatehouse: %sapproval allow: name a way, such as otp", p)
			}
			a.Allow = append(a.Allow, ways...)
		default:
			return d.Errf("gatehouse: %sapproval: unknown option %q (options: allow)", p, opt)
		}
	}
	return nil
}
