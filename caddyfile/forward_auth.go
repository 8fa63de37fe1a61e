package caddyfile

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gatehouse-dev/gatehouse/module"
)

func init() {
	httpcaddyfile.RegisterDirective("gatehouse_forward_auth", parseForwardAuth)
	// It answers the proxy's subrequest itself, like respond.
	httpcaddyfile.RegisterDirectiveOrder("gatehouse_forward_auth", httpcaddyfile.Before, "respond")
}

// parseForwardAuth parses `gatehouse_forward_auth [<matcher>] { ... }`, whose options are
// exactly those of gatehouse_protect (client, scope, group, audience, mfa, header, ...): the
// block is parsed by parseProtect, so that a policy option added to gatehouse_protect works
// here too, and errors name this directive.
func parseForwardAuth(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	vals, err := parseProtect(h)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "gatehouse_protect", "gatehouse_forward_auth"))
	}
	if len(vals) == 0 {
		return nil, h.Errf("gatehouse_forward_auth: no configuration")
	}
	route, ok := vals[0].Value.(caddyhttp.Route)
	if !ok || len(route.HandlersRaw) != 1 {
		return nil, h.Errf("gatehouse_forward_auth: unexpected configuration")
	}
	fa := new(module.ForwardAuth)
	if err := json.Unmarshal(route.HandlersRaw[0], &fa.Protect); err != nil {
		return nil, h.Errf("gatehouse_forward_auth: %v", err)
	}
	var matcherSet caddy.ModuleMap
	if len(route.MatcherSetsRaw) > 0 {
		matcherSet = route.MatcherSetsRaw[0]
	}
	return h.NewRoute(matcherSet, fa), nil
}
