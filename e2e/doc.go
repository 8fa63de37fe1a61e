// Package e2e holds Gatehouse's end-to-end tests: each test starts a real Caddy in-process
// from a Caddyfile (portal, protected sites, admin endpoint, Badger in a temporary
// directory), drives it over HTTP like a browser, an API client or an OpenID Connect relying
// party would, and checks what a recording upstream receives. The tests name the rows of the
// threat catalogue (THREATS.md) they cover.
//
// Caddy is a process-wide singleton, so the tests of this package never run in parallel:
// each one loads its own configuration and stops it when it ends.
package e2e
