package caddyfile

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseRegistration parses the registration option of the gatehouse global option
// (dynamic client registration, RFC 7591/7592; off without it):
//
//	registration approval|open {
//		initial_access_token <token>   # a placeholder: {env.GATEHOUSE_IAT}
//		no_initial_access_token        # open mode only: anyone may register (logged as a warning)
//		per_ip_per_hour <n>
//	}
func parseRegistration(d *caddyfile.Dispenser) (*module.RegistrationConfig, error) {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return nil, d.Errf("gatehouse: registration takes one mode: approval (an administrator approves each client) or open (with an initial access token)")
	}
	r := &module.RegistrationConfig{Mode: args[0]}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "initial_access_token":
			r.InitialAccessToken, err = oneArg(d)
		case "no_initial_access_token":
			if d.NextArg() {
				return nil, d.Errf("gatehouse: registration no_initial_access_token takes no value")
			}
			r.NoInitialAccessToken = true
		case "per_ip_per_hour":
			r.PerIPPerHour, err = intArg(d, "registration ")
		default:
			return nil, d.Errf("gatehouse: registration: unknown option %q (options: initial_access_token, no_initial_access_token, per_ip_per_hour)", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}
