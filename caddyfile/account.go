package caddyfile

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseAccount parses the `account` block of the gatehouse global option:
//
//	account {
//		editable_fields fname mname lname username birthday picture organization | none
//		allow_delete
//	}
func parseAccount(d *caddyfile.Dispenser, c *module.AccountConfig) error {
	if d.NextArg() {
		return d.Err("gatehouse: account takes no arguments, only a block of options")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "editable_fields":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Err("gatehouse: account editable_fields: list the fields users may change, such as fname lname, or none")
			}
			fields := []string{}
			if len(args) != 1 || args[0] != "none" {
				fields = args
			}
			c.EditableFields = &fields
		case "allow_delete":
			if d.NextArg() {
				return d.Errf("gatehouse: account allow_delete takes no arguments, got %q", d.Val())
			}
			c.AllowDelete = true
		default:
			return d.Errf("gatehouse: account: unknown option %q (options: editable_fields, allow_delete)", opt)
		}
	}
	return nil
}
