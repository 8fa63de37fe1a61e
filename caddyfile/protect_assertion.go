package caddyfile

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseProtectAssertion parses gatehouse_protect's `assertion` option, the cursor on it:
//
//	assertion [{
//	    header <name>       # default X-Gatehouse-Assertion
//	    lifetime <duration> # default 2m
//	}]
func parseProtectAssertion(h httpcaddyfile.Helper, p *module.Protect) error {
	if h.NextArg() {
		return h.Errf("gatehouse_protect: assertion takes no arguments (options go in a block: header, lifetime)")
	}
	if p.Assertion != nil {
		return h.Errf("gatehouse_protect: assertion is set twice")
	}
	p.Assertion = &module.AssertionConfig{}
	for nesting := h.Nesting(); h.NextBlock(nesting); {
		switch opt := h.Val(); opt {
		case "header":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return h.Errf("gatehouse_protect: assertion: header takes exactly one header name")
			}
			p.Assertion.Header = args[0]
		case "lifetime":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return h.Errf("gatehouse_protect: assertion: lifetime takes exactly one duration (e.g. 2m)")
			}
			d, err := caddy.ParseDuration(args[0])
			if err != nil || d <= 0 {
				return h.Errf("gatehouse_protect: assertion: lifetime must be a positive duration (e.g. 2m), got %q", args[0])
			}
			p.Assertion.Lifetime = caddy.Duration(d.Round(time.Millisecond))
		default:
			return h.Errf("gatehouse_protect: assertion: unknown option %q (options: header, lifetime)", opt)
		}
	}
	return nil
}
