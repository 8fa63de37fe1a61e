package caddyfile

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseHeaderProfile parses `headers <profile>` in gatehouse_protect: the headers an
// application documents for authentication by a reverse proxy (module.Protect.HeaderProfile).
// An unknown or unsupported name fails here, with the line, listing the known ones.
func parseHeaderProfile(h httpcaddyfile.Helper, p *module.Protect) error {
	args := h.RemainingArgs()
	if len(args) != 1 {
		return h.Errf("gatehouse_protect: headers takes one profile name (%s)", strings.Join(module.HeaderProfileNames(), ", "))
	}
	if p.HeaderProfile != "" {
		return h.Errf("gatehouse_protect: headers is set twice (%q and %q): a route has one header profile", p.HeaderProfile, args[0])
	}
	if msg := module.HeaderProfileProblem(args[0]); msg != "" {
		return h.Errf("gatehouse_protect: headers: %s", msg)
	}
	p.HeaderProfile = args[0]
	return nil
}
