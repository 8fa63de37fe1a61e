package module

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/handlers/admin"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI (admin.api.gatehouse) serves the user-management API under /gatehouse/ on Caddy's
// admin endpoint, which listens on localhost:2019 unless configured otherwise and is
// protected like the rest of Caddy's admin API.
type AdminAPI struct {
	ctx     caddy.Context
	handler *admin.Handler
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.gatehouse", New: func() caddy.Module { return new(AdminAPI) }}
}

// Provision keeps the context: the gatehouse app is provisioned after the admin routes, so
// it is looked up per request.
func (a *AdminAPI) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.handler = admin.New(a.backend)
	return nil
}

// backend returns the running provider's pieces the admin API uses.
func (a *AdminAPI) backend() (*admin.Backend, error) {
	app, err := a.ctx.AppIfConfigured("gatehouse")
	if err != nil {
		return nil, errors.New("the gatehouse app is not configured (add the `gatehouse` global option)")
	}
	ga, ok := app.(*App)
	if !ok || ga.provider == nil {
		return nil, errors.New("the gatehouse app is not running")
	}
	p := ga.provider
	var assertKeys admin.Keys // an interface holding a nil *keys.Ring would not be nil
	if ga.portal != nil && ga.portal.assertKeys != nil {
		assertKeys = ga.portal.assertKeys
	}
	mode := p.SignupMode
	if ga.settings != nil {
		mode = ga.settings.Load().Effective.Signup // the runtime settings' (settings.go)
	}
	return &admin.Backend{Accounts: p.Accounts, Invites: p.Signup, Identities: p.Social, Keys: p.Keys,
		Clients: p.OAuth, AppCredentials: p.AppCredentials, Issuer: p.Issuer, SignupMode: mode,
		AssertionKeys: assertKeys, Audit: ga.trail, AuditLog: ga.store}, nil
}

// Routes returns the admin routes.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{
		Pattern: "/gatehouse/",
		Handler: caddy.AdminHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			a.handler.ServeHTTP(w, r)
			return nil
		}),
	}, {
		// The runtime settings (settings.go), for `gatehouse settings`.
		Pattern: "/gatehouse/settings",
		Handler: caddy.AdminHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			app, err := a.ctx.AppIfConfigured("gatehouse")
			ga, ok := app.(*App)
			if err != nil || !ok || ga.settingsSvc == nil {
				return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("the gatehouse app is not running")}
			}
			return serveSettings(w, r, ga.settingsSvc)
		}),
	}}
}

// Interface guards.
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
	_ caddy.Provisioner = (*AdminAPI)(nil)
)
