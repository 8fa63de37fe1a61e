// Package gatehouse is an identity-aware reverse proxy and OpenID Connect provider that runs
// inside Caddy. Importing it registers the Gatehouse modules, so that
//
//	xcaddy build --with github.com/gatehouse-dev/gatehouse
//
// builds a Caddy with Gatehouse; cmd/gatehouse is such a build. See README.md.
package gatehouse

import (
	// The Caddyfile adapter imports the modules.
	_ "github.com/gatehouse-dev/gatehouse/caddyfile"
	_ "github.com/gatehouse-dev/gatehouse/module"
)
