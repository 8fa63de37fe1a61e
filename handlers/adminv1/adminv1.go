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
)

// Prefix is where the API is mounted on the portal.
const Prefix = "/api/admin/v1"

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
}

// Handler serves the API.
type Handler struct {
	deps   Deps
	mux    *http.ServeMux
	routes []Route
}

// New returns the API handler with every resource mounted.
func New(d Deps) *Handler {
	h := &Handler{deps: d, mux: http.NewServeMux()}
	// Each resource file adds one mount call here.
	return h
}

// Routes returns the mounted routes in mount order (the OpenAPI document and its test).
func (h *Handler) Routes() []Route { return append([]Route(nil), h.routes...) }

// handle mounts fn at the route and records the route for the OpenAPI document.
// Authentication, CSRF and the MFA-age check for writes wrap fn here (auth.go).
func (h *Handler) handle(rt Route, fn HandlerFunc) {
	h.routes = append(h.routes, rt)
	h.mux.HandleFunc(rt.Method+" "+Prefix+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeProblem(w, err)
		}
	})
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }
