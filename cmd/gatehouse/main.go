// Command gatehouse is Caddy with the Gatehouse modules compiled in: `gatehouse run --config
// Caddyfile` runs it, and every caddy subcommand works (adapt, validate, reload, ...), plus
// `gatehouse user` and `gatehouse invite`.
package main

import (
	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/gatehouse-dev/gatehouse"
)

func main() {
	setup()
	caddycmd.Main()
}

// setup names the binary in help and usage lines: "Usage: gatehouse user ...", not "caddy".
func setup() {
	caddy.CustomBinaryName = "gatehouse"
	caddy.CustomLongDescription = `Gatehouse is an identity-aware reverse proxy and OpenID Connect provider running
inside Caddy: every caddy command works (run, adapt, validate, reload, ...), plus
Gatehouse's own: user, invite, keys, hash-secret and store.

To run Gatehouse, use:

	gatehouse run --config Caddyfile

Gatehouse's documentation is its README.md and docs/ (github.com/gatehouse-dev/gatehouse);
Caddy's, for the commands and directives Gatehouse inherits, is at https://caddyserver.com/docs/.`
}
