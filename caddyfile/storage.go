package caddyfile

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseStorage parses the storage option of the gatehouse global option:
//
//	storage badger [<path>]
//	storage postgres <dsn> {            # the block is optional
//		schema <name>
//		purge_interval <duration>
//	}
//
// The DSN is usually a placeholder resolved at start, so that the Caddyfile holds no
// password: storage postgres {env.DATABASE_URL}. A keyword/value DSN has spaces and must be
// quoted.
func parseStorage(d *caddyfile.Dispenser) (json.RawMessage, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.Errf("gatehouse: storage: expected `storage badger [<path>]` or `storage postgres <dsn>`")
	}
	switch args[0] {
	case "badger":
		if len(args) > 2 {
			return nil, d.Errf("gatehouse: storage: expected `storage badger [<path>]`")
		}
		st := module.BadgerStorage{}
		if len(args) == 2 {
			st.Path = args[1]
		}
		return caddyconfig.JSONModuleObject(st, "module", "badger", nil), nil
	case "postgres":
		if len(args) != 2 {
			return nil, d.Errf("gatehouse: storage: expected `storage postgres <dsn>` (for example {env.DATABASE_URL}; quote a DSN with spaces)")
		}
		st := module.PostgresStorage{DSN: args[1]}
		for nesting := d.Nesting(); d.NextBlock(nesting); {
			switch opt := d.Val(); opt {
			case "schema":
				v, err := oneArg(d)
				if err != nil {
					return nil, err
				}
				st.Schema = v
			case "purge_interval":
				v, err := durationArg(d, "storage postgres ")
				if err != nil {
					return nil, err
				}
				st.PurgeInterval = v
			default:
				return nil, d.Errf("gatehouse: storage postgres: unknown option %q (options: schema, purge_interval)", opt)
			}
		}
		return caddyconfig.JSONModuleObject(st, "module", "postgres", nil), nil
	}
	return nil, d.Errf("gatehouse: storage %q is not available (available: badger, postgres)", args[0])
}
