package module

import (
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
)

// mountAdminV1 mounts the Administration API (handlers/adminv1) on the portal at
// <issuer path>/api/admin/v1/, with the app's admin_group and admin_max_age, and returns
// it as mounted (for the console's in-process calls).
func mountAdminV1(mux *http.ServeMux, app *App) http.Handler {
	core, st := app.provider, app.portal
	deps := adminv1.Deps{
		Tokens: core.Verifier, Sessions: core.Sessions, SessionSecret: st.sessions.Secret, CSRF: st.csrf,
		Issuer: core.Issuer, AdminGroup: app.AdminGroup, AdminMaxAge: time.Duration(app.AdminMaxAge), Now: core.Now,
		ClientIP: clientIP,
		Users:    core.Accounts, Passkeys: core.Passkey, Identities: core.Social, UserSessions: core.Sessions,
		Invites: core.Signup, Recovery: core.Recovery, Clients: core.OAuth, Groups: core.Accounts,
		Audit: app.trail, AuditLog: app.store,
	}
	if svc := app.Settings(); svc != nil { // a nil *settings.Service is not a nil interface
		deps.Settings = svc
	}
	h := adminv1.New(deps)
	var hh http.Handler = h
	if st.base != "" {
		hh = http.StripPrefix(st.base, h)
	}
	mux.Handle(st.base+adminv1.Prefix+"/", hh)
	return hh
}
