package caddyfile

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gatehouse-dev/gatehouse/module"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("gatehouse_portal", parsePortal)
	httpcaddyfile.RegisterDirective("gatehouse_protect", parseProtect)
	httpcaddyfile.RegisterHandlerDirective("gatehouse_sanitize", parseSanitize)
	// The portal answers requests itself, like respond; protect guards what follows it, like
	// basic_auth and forward_auth.
	httpcaddyfile.RegisterDirectiveOrder("gatehouse_portal", httpcaddyfile.Before, "respond")
	httpcaddyfile.RegisterDirectiveOrder("gatehouse_protect", httpcaddyfile.After, "basic_auth")
	// Sanitizing comes first in a site, before any handler or matcher looks at the request:
	// it refuses non-canonical paths (so that no matcher judges a path the upstream reads
	// otherwise) and strips forged identity headers before any placeholder reads them.
	httpcaddyfile.RegisterDirectiveOrder("gatehouse_sanitize", httpcaddyfile.After, "tracing")
}

// parseSanitize parses:
//
//	gatehouse_sanitize [<matcher>] {
//		strip_header <Name...>
//		insecure_allow_noncanonical_paths
//	}
//
// Put it at the top of a site whose gatehouse_protect handlers sit inside handle or route
// blocks, so that requests no gatehouse_protect handles lose client-sent identity headers and
// Gatehouse cookies too, and so that non-canonical paths are refused before any handle
// block's matcher judges them. It runs first in the site (right after tracing).
// insecure_allow_noncanonical_paths turns the path refusal off for the whole site.
func parseSanitize(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next() // directive name
	if h.NextArg() {
		return nil, h.Errf("gatehouse_sanitize: unexpected argument %q (options go in a block)", h.Val())
	}
	s := new(module.Sanitize)
	for h.NextBlock(0) {
		switch opt := h.Val(); opt {
		case "strip_header", "strip_headers":
			args := h.RemainingArgs()
			if len(args) == 0 {
				return nil, h.Errf("gatehouse_sanitize: %s: list at least one header name", opt)
			}
			s.StripHeaders = append(s.StripHeaders, args...)
		case "insecure_allow_noncanonical_paths":
			if h.NextArg() {
				return nil, h.Errf("gatehouse_sanitize: insecure_allow_noncanonical_paths takes no arguments")
			}
			s.InsecureAllowNonCanonicalPaths = true
		default:
			return nil, h.Errf("gatehouse_sanitize: unknown option %q (options: strip_header, insecure_allow_noncanonical_paths)", opt)
		}
	}
	return s, nil
}

// parsePortal parses `gatehouse_portal [<matcher>]`, which takes no options.
func parsePortal(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next() // directive name
	if h.NextArg() {
		return nil, h.Errf("gatehouse_portal takes no arguments (the portal is configured in the gatehouse global option)")
	}
	if h.NextBlock(0) {
		return nil, h.Errf("gatehouse_portal takes no options (configure the portal in the gatehouse global option)")
	}
	return new(module.Portal), nil
}

// parseProtect parses:
//
//	gatehouse_protect [<matcher>] {
//		client <id>
//		journey <name>      # the journey a browser login to the route runs (journey.go)
//		scope <scope...>
//		group <group...>
//		audience <aud...>
//		mfa [required] [{
//			allow app_credentials
//		}]
//		acr aal2
//		max_age <duration>
//		allow app_passwords
//		header <Name> <value>
//		header -<Name>
//		headers <profile>
//		no_default_headers
//		strip_header <Name...>
//		cookie_name <name>
//		cache_size <n>
//		require <CEL expression>
//		role <name...>
//		permission <name...>
//		organization <name>
//		close_on_revoke
//	}
//
// With a matcher, a route without matcher follows with gatehouse_sanitize, so that requests
// outside the protected routes reach the upstream without client-sent identity headers or
// Gatehouse cookies, and so that the site's /.gatehouse/callback and /.gatehouse/logout
// endpoints are served although the matcher does not cover them.
func parseProtect(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	h.Next() // directive name again, after the reset
	if h.NextArg() {
		return nil, h.Errf("gatehouse_protect: unexpected argument %q (options go in a block)", h.Val())
	}
	p := new(module.Protect)
	for h.NextBlock(0) {
		switch opt := h.Val(); opt {
		case "client":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return nil, h.Errf("gatehouse_protect: client takes exactly one client ID")
			}
			p.Client = args[0]
		case "journey":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return nil, h.Errf("gatehouse_protect: journey takes exactly one journey name")
			}
			p.Journey = args[0]
		case "scope", "scopes":
			args := h.RemainingArgs()
			if len(args) == 0 {
				return nil, h.Errf("gatehouse_protect: %s: list at least one scope", opt)
			}
			p.Scopes = append(p.Scopes, args...)
		case "group", "groups":
			args := h.RemainingArgs()
			if len(args) == 0 {
				return nil, h.Errf("gatehouse_protect: %s: list at least one group", opt)
			}
			p.Groups = append(p.Groups, args...)
		case "audience":
			args := h.RemainingArgs()
			if len(args) == 0 {
				return nil, h.Errf("gatehouse_protect: audience: list at least one audience")
			}
			p.Audience = append(p.Audience, args...)
		case "header":
			args := h.RemainingArgs()
			if p.Headers == nil {
				p.Headers = map[string]string{}
			}
			switch {
			case len(args) == 1 && strings.HasPrefix(args[0], "-"):
				p.Headers[http.CanonicalHeaderKey(args[0][1:])] = ""
			case len(args) == 2:
				p.Headers[http.CanonicalHeaderKey(args[0])] = args[1]
			default:
				return nil, h.Errf("gatehouse_protect: expected `header <Name> <value>` or `header -<Name>`")
			}
		case "mfa":
			args := h.RemainingArgs()
			if len(args) > 1 || (len(args) == 1 && args[0] != "required") {
				return nil, h.Errf("gatehouse_protect: expected `mfa` or `mfa required`")
			}
			p.MFA = true
			for nesting := h.Nesting(); h.NextBlock(nesting); {
				name := h.Val()
				if a := h.RemainingArgs(); name != "allow" || len(a) != 1 || a[0] != "app_credentials" {
					return nil, h.Errf("gatehouse_protect: mfa block: expected `allow app_credentials` (lets app passwords and access tokens through this route)")
				}
				p.MFAAllowsAppCredentials = true
			}
		case "allow":
			args := h.RemainingArgs()
			if len(args) != 1 || args[0] != "app_passwords" {
				return nil, h.Errf("gatehouse_protect: expected `allow app_passwords` (HTTP Basic with user and app password)")
			}
			p.AllowAppPasswords = true
		case "headers":
			if err := parseHeaderProfile(h, p); err != nil {
				return nil, err
			}
		case "max_age":
			if err := parseMaxAge(h, p); err != nil {
				return nil, err
			}
		case "acr":
			if err := parseACR(h, p); err != nil {
				return nil, err
			}
		case "no_default_headers":
			if h.NextArg() {
				return nil, h.Errf("gatehouse_protect: no_default_headers takes no arguments")
			}
			p.NoDefaultHeaders = true
		case "strip_header", "strip_headers":
			args := h.RemainingArgs()
			if len(args) == 0 {
				return nil, h.Errf("gatehouse_protect: %s: list at least one header name", opt)
			}
			p.StripHeaders = append(p.StripHeaders, args...)
		case "cookie_name":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return nil, h.Errf("gatehouse_protect: cookie_name takes exactly one name")
			}
			p.CookieName = args[0]
		case "route":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return nil, h.Errf("gatehouse_protect: route takes exactly one name (the route label of the metrics)")
			}
			p.Route = args[0]
		case "cache_size":
			args := h.RemainingArgs()
			n, err := strconv.Atoi(strings.Join(args, " "))
			if len(args) != 1 || err != nil || n <= 0 {
				return nil, h.Errf("gatehouse_protect: cache_size takes one positive number")
			}
			p.CacheSize = n
		case "assertion":
			if err := parseProtectAssertion(h, p); err != nil {
				return nil, err
			}
		case "require", "role", "roles", "permission", "permissions", "organization":
			if err := parseProtectRequire(h, p, opt); err != nil {
				return nil, err
			}
		case "close_on_revoke":
			if h.NextArg() {
				return nil, h.Errf("gatehouse_protect: close_on_revoke takes no arguments")
			}
			p.CloseOnRevoke = true
		case "insecure_allow_noncanonical_paths":
			return nil, h.Errf("gatehouse_protect: insecure_allow_noncanonical_paths is a site-wide choice: put it in `gatehouse_sanitize { insecure_allow_noncanonical_paths }` at the top of the site")
		default:
			return nil, h.Errf("gatehouse_protect: unknown option %q (options: client, scope, group, audience, mfa, acr, max_age, allow, header, headers, no_default_headers, strip_header, cookie_name, cache_size, route, assertion, require, role, permission, organization, close_on_revoke, journey)", opt)
		}
	}
	routes := h.NewRoute(matcherSet, p)
	if matcherSet != nil {
		// Requests outside the matcher must not carry forged identity headers or Gatehouse
		// cookies to the upstream either (PX-01); the sanitizer also serves the site's
		// /.gatehouse/ endpoints (login callback, logout), which the matcher may not cover.
		strip := append(append([]string{}, p.StripHeaders...), module.HeaderProfileStrip(p.HeaderProfile)...)
		for name, v := range p.Headers {
			if v != "" {
				strip = append(strip, name)
			}
		}
		if p.Assertion != nil && p.Assertion.Header != "" {
			strip = append(strip, p.Assertion.Header)
		}
		sort.Strings(strip)
		routes = append(routes, h.NewRoute(nil, &module.Sanitize{StripHeaders: strip})...)
	}
	return routes, nil
}
