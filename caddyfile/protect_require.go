package caddyfile

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseProtectRequire parses the gatehouse_protect options
//
//	require <CEL expression>
//	role <name...>
//	permission <name...>
//	organization <name>
//
// into p.Require, compiling each so that a typo fails with the line. The expression is the
// rest of the line as written (quotes kept); one backquoted token is taken as is.
func parseProtectRequire(h httpcaddyfile.Helper, p *module.Protect, opt string) error {
	var q module.Require
	switch opt {
	case "require":
		raw := h.RemainingArgsRaw()
		if len(raw) == 0 {
			return h.Errf("gatehouse_protect: require takes a CEL expression, e.g. `require \"docs:write\" in claims.permissions`")
		}
		if len(raw) == 1 && strings.HasPrefix(raw[0], "`") && strings.HasSuffix(raw[0], "`") && len(raw[0]) > 1 {
			raw[0] = raw[0][1 : len(raw[0])-1]
		}
		q.Expression = strings.Join(raw, " ")
	case "role", "roles":
		if q.Roles = h.RemainingArgs(); len(q.Roles) == 0 {
			return h.Errf("gatehouse_protect: %s: list at least one role (any of them is enough)", opt)
		}
	case "permission", "permissions":
		if q.Permissions = h.RemainingArgs(); len(q.Permissions) == 0 {
			return h.Errf("gatehouse_protect: %s: list at least one permission (any of them is enough)", opt)
		}
	case "organization":
		args := h.RemainingArgs()
		if len(args) != 1 {
			return h.Errf("gatehouse_protect: organization takes exactly one organization")
		}
		q.Organization = args[0]
	}
	if err := q.Check(); err != nil {
		return h.Errf("gatehouse_protect: %s: %v", opt, err)
	}
	p.Require = append(p.Require, q)
	return nil
}
