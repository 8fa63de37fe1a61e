// Package adminv1 is the Administration API, version 1: JSON under /api/admin/v1/ on the
// portal. Every console action is one of its calls first.
//
// Callers authenticate with an access token from the client_credentials grant carrying the
// scope gatehouse:admin, or with an administrator's portal session plus a CSRF token (the
// console); writes through a session need a multi-factor login no older than admin_max_age.
// Errors are RFC 9457 problem+json naming the field; unknown JSON fields are refused;
// updates take If-Match with the ETag of the read (412 on a concurrent change).
//
// Each resource lives in its own file and mounts its routes with Handler.handle, which also
// describes the route for the OpenAPI 3.1 document served at /api/admin/v1/openapi.json
// (openapi.go). A route that is not described cannot be mounted, so the document and the
// routes cannot drift apart.
package adminv1

import (
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Prefix is where the API is mounted on the portal.
const Prefix = oauth.AdminAPIPath

// Route describes one operation: its pattern and its OpenAPI description.
type Route struct {
	// Method and Path (relative to Prefix, with {name} wildcards as in net/http).
	Method, Path string
	// Summary is one line for the OpenAPI document.
	Summary string
	// Write marks a state-changing call: a session caller needs a CSRF token and a fresh
	// multi-factor login.
	Write bool
	// Query lists the query parameters the route reads.
	Query []Param
	// Request is a value of the request body's type (nil: no body), Response of the
	// success answer's type; the OpenAPI schemas are derived from them.
	Request, Response any
	// Status is the success status (0: 200).
	Status int
	// Public serves the route without authentication (only the OpenAPI document).
	Public bool
	// ETag marks a single-resource GET answered with an ETag whose PUT/PATCH/DELETE need
	// If-Match (conventions.go); for the OpenAPI document.
	ETag bool
}

// Param is a query parameter.
type Param struct {
	Name, Description string
}

// HandlerFunc serves one route; an error it returns becomes a problem+json answer
// (problem.go).
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Deps are the identity core as the API uses it. Each resource file declares the narrow
// interfaces it needs and adds its fields here; New refuses a nil one.
type Deps struct {
	// Authentication (auth.go).

	// Tokens verifies the portal's own access tokens (signature, type, issuer, lifetime,
	// revocation: *tokens.Verifier).
	Tokens TokenVerifier
	// Sessions reads the portal session of a cookie secret with its user, fresh from the
	// store (*sessions.Manager).
	Sessions SessionReader
	// SessionSecret returns the session cookie's secret of a request ("" without one).
	SessionSecret func(*http.Request) string
	// CSRF checks the X-CSRF-Token header of a session caller's write.
	CSRF *web.CSRF
	// Issuer is the portal's URL; a bearer token's audience must hold Issuer+Prefix.
	Issuer string
	// AdminGroup is the group a session caller must be in ("" means "admins").
	AdminGroup string
	// AdminMaxAge is how old a session caller's multi-factor login may be for a write
	// (0 means 15 minutes).
	AdminMaxAge time.Duration
	// Now returns the current time (nil: time.Now).
	Now func() time.Time
	// Audit records every write as an audit.AdminWrite event (nil: audit.Discard).
	Audit audit.Recorder
	// ClientIP returns the request's client IP as Caddy resolved it (nil: none recorded).
	ClientIP func(*http.Request) string

	// Users (users.go).
	Users        Users
	Passkeys     Passkeys
	Identities   Identities
	UserSessions UserSessions
	Invites      Invites
	// Recovery issues the recovery code of a creation with "recovery" (nil: refused).
	Recovery Recovery

	// Clients (clients.go).
	Clients Clients
	// Groups (groups.go) are the group data (*account.Accounts).
	Groups Groups

	// AuditLog is the stored audit trail (audit.go; store.AuditEvents; nil: an empty trail).
	AuditLog audit.Lister

	// Settings are the runtime settings (settings.go; *settings.Service; nil: the routes
	// answer 404).
	Settings Settings
}

// Handler serves the API.
type Handler struct {
	deps   Deps
	mux    *http.ServeMux
	routes []Route
}

// New returns the API handler with every resource mounted.
func New(d Deps) *Handler {
	if d.AdminGroup == "" {
		d.AdminGroup = DefaultAdminGroup
	}
	if d.AdminMaxAge <= 0 {
		d.AdminMaxAge = DefaultAdminMaxAge
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Audit == nil {
		d.Audit = audit.Discard
	}
	h := &Handler{deps: d, mux: http.NewServeMux()}
	// Each resource file adds one mount call here.
	h.mountOpenAPI()
	h.mountMe()
	h.mountUsers()
	h.mountClients()
	h.mountGroups()
	h.mountAudit()
	h.mountSettings()
	h.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, NotFound("no such endpoint: "+r.Method+" "+r.URL.Path+" (see "+Prefix+"/openapi.json)"))
	})
	return h
}

// Routes returns the mounted routes in mount order (the OpenAPI document and its test).
func (h *Handler) Routes() []Route { return append([]Route(nil), h.routes...) }

// handle mounts fn at the route and records the route for the OpenAPI document.
// Authentication, CSRF and the MFA-age check for writes wrap fn here (auth.go).
func (h *Handler) handle(rt Route, fn HandlerFunc) {
	h.routes = append(h.routes, rt)
	h.mux.HandleFunc(rt.Method+" "+Prefix+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		r, err := h.authenticate(w, r, rt)
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			writeProblem(w, err)
		}
	})
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }
