package module

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gatehouse-dev/gatehouse/handlers/protect"
)

func init() {
	caddy.RegisterModule(ForwardAuth{})
}

// ForwardAuth is the `gatehouse_forward_auth` HTTP handler (opt-in): the endpoint that nginx's
// auth_request and Traefik's ForwardAuth call. It takes the options of gatehouse_protect and
// decides with the same Guard, for the original request that the proxy describes in
// X-Original-Method / X-Original-URI (nginx) or X-Forwarded-Method / X-Forwarded-Uri
// (Traefik), with X-Forwarded-Host and X-Forwarded-Proto. Those headers are believed only
// from an address in the server's trusted_proxies; any other caller gets 403. It answers 200
// with the identity headers, 401 (with X-Gatehouse-Location, the login to send a browser to,
// for nginx; the redirect itself for Traefik), or 403. It never passes a request on.
type ForwardAuth struct {
	Protect

	fa *protect.ForwardAuth
}

// CaddyModule returns the Caddy module information.
func (ForwardAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gatehouse_forward_auth", New: func() caddy.Module { return new(ForwardAuth) }}
}

// Provision refuses an endpoint behind a host matcher (see checkForwardAuthHosts), then
// builds the guard as gatehouse_protect does.
func (f *ForwardAuth) Provision(ctx caddy.Context) error {
	if err := checkForwardAuthHosts(ctx); err != nil {
		return err
	}
	if err := f.Protect.Provision(ctx); err != nil {
		return err
	}
	f.fa = &protect.ForwardAuth{Guard: f.guard, Trusted: trustedProxy}
	return nil
}

// Validate checks the options that do not need the app.
func (f *ForwardAuth) Validate() error {
	v := NewValidator()
	f.Check(v, "gatehouse_forward_auth")
	if f.CloseOnRevoke {
		v.Errorf("gatehouse_forward_auth.close_on_revoke", "does not apply: the front proxy, not Gatehouse, holds the connection (use gatehouse_protect for WebSockets that must close on logout)")
	}
	return v.Err()
}

// ServeHTTP answers the proxy's subrequest; it never calls next.
func (f *ForwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	f.fa.Serve(w, r)
	return nil
}

// trustedProxy: Caddy found the request's remote address in the server's trusted_proxies.
func trustedProxy(r *http.Request) bool {
	ok, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return ok
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*ForwardAuth)(nil)
	_ caddy.Validator             = (*ForwardAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*ForwardAuth)(nil)
)
