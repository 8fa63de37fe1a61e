// Command gatehouse is Caddy with the Gatehouse modules compiled in: `gatehouse run --config
// Caddyfile` runs it, and every caddy subcommand works (adapt, validate, reload, ...), plus
// `gatehouse user` and `gatehouse invite`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/gatehouse-dev/gatehouse"
)

func main() { caddycmd.Main() }
