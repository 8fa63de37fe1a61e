package caddyfile

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseMaxAge parses `max_age <duration>` in gatehouse_protect: the oldest login the route
// accepts (module.Protect.MaxAge).
func parseMaxAge(h httpcaddyfile.Helper, p *module.Protect) error {
	args := h.RemainingArgs()
	if len(args) != 1 {
		return h.Errf("gatehouse_protect: max_age takes one duration (e.g. `max_age 1h`)")
	}
	d, err := caddy.ParseDuration(args[0])
	if err != nil || d < time.Second {
		return h.Errf("gatehouse_protect: max_age %q: give a duration of at least 1s, e.g. 15m or 1h", args[0])
	}
	p.MaxAge = caddy.Duration(d)
	return nil
}

// parseACR parses `acr aal2` in gatehouse_protect: the route requires a multi-factor login
// (module.Protect.ACR).
func parseACR(h httpcaddyfile.Helper, p *module.Protect) error {
	args := h.RemainingArgs()
	if len(args) != 1 || args[0] != "aal2" {
		return h.Errf("gatehouse_protect: expected `acr aal2` (a multi-factor login; the only class a route can require)")
	}
	p.ACR = args[0]
	return nil
}
