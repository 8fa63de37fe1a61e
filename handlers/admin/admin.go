// Package admin is Gatehouse's user-management API, served on Caddy's admin endpoint (which
// listens on localhost only unless configured otherwise) under /gatehouse/. The `gatehouse
// user` and `gatehouse invite` CLI commands call it. Requests and responses are JSON;
// errors are {"error": code, "message": text}.
//
//	GET  /gatehouse/users?after=&limit=     list users
//	POST /gatehouse/users                   create {email, password?, fname?, lname?, groups?, external_user_id?,
//	                                        email_verified? (default true)}
//	GET  /gatehouse/users/{id or email}     show
//	POST /gatehouse/users/{id}/disable      disable (revokes sessions and tokens)
//	POST /gatehouse/users/{id}/enable       enable
//	DELETE /gatehouse/users/{id}            delete the user and everything of it (account.Accounts.Delete)
//	PUT  /gatehouse/users/{id}/password     {password} (revokes sessions and tokens)
//	PUT  /gatehouse/users/{id}/groups       {groups: [...]}
//	PATCH /gatehouse/users/{id}             profile fields (see account.ProfilePatch), custom_data
//	PUT  /gatehouse/users/{id}/custom_app_data/{client}   a JSON object (null removes it)
//	POST /gatehouse/invites                 {email?, groups?} -> {code, url, expires_at}
//	GET  /gatehouse/users/{id}/credentials  app passwords and access tokens (no secrets)
//	POST /gatehouse/users/{id}/credentials/{cred}/revoke   revoke one (cred: id from the list)
//	GET  /gatehouse/groups                  list group data
//	PUT  /gatehouse/groups/{name}           {custom_data}
//	DELETE /gatehouse/groups/{name}
//	GET  /gatehouse/keys                    signing keys (kid, alg, created_at, signing)
//	POST /gatehouse/keys/rotate             {alg?, immediate?} rotate (every algorithm by default)
//	DELETE /gatehouse/keys/{kid}            delete a key at once (after a compromise)
//	GET, POST rotate, DELETE /gatehouse/assertion-keys[...]   the same for the assertion keys
//	GET  /gatehouse/clients?pending=true&after=&limit=   registered (stored) clients
//	POST /gatehouse/clients/{id}/approve    let a registered client waiting for approval work
//	DELETE /gatehouse/clients/{id}          delete a registered client
//	GET  /gatehouse/audit?user=&actor=&type=&since=&until=&after=&limit=   the audit trail as
//	                                        JSON lines, oldest first (audit.Query); a full page
//	                                        names the next cursor in Gatehouse-Audit-Next
//
// Every write (any method but GET and HEAD) is recorded on the audit trail as admin.write
// with its route as the reason, the actor "caddy-admin" and the caller's address; the
// domain events it causes (user.disabled, password.changed ...) carry the same actor.
//
// One file per resource: users.go, invites.go, groups.go, keys.go, identities.go, clients.go; this file
// has the routes and the error mapping, deps.go the identity core as the API uses it.
package admin

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/social"
)

// Handler serves the admin API.
type Handler struct {
	// Backend returns the running identity core (the admin endpoint outlives config
	// reloads, so it is looked up per request).
	Backend func() (*Backend, error)

	mux *http.ServeMux
}

// New returns the admin API handler.
func New(backend func() (*Backend, error)) *Handler {
	h := &Handler{Backend: backend, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /gatehouse/users", h.list)
	h.mux.HandleFunc("POST /gatehouse/users", h.create)
	h.mux.HandleFunc("GET /gatehouse/users/{id}", h.show)
	h.mux.HandleFunc("POST /gatehouse/users/{id}/disable", h.setDisabled(true))
	h.mux.HandleFunc("POST /gatehouse/users/{id}/enable", h.setDisabled(false))
	h.mux.HandleFunc("DELETE /gatehouse/users/{id}", h.deleteUser)
	h.mux.HandleFunc("PUT /gatehouse/users/{id}/password", h.setPassword)
	h.mux.HandleFunc("PUT /gatehouse/users/{id}/groups", h.setGroups)
	h.mux.HandleFunc("POST /gatehouse/invites", h.invite)
	h.mux.HandleFunc("PATCH /gatehouse/users/{id}", h.patch)
	h.mux.HandleFunc("PUT /gatehouse/users/{id}/custom_app_data/{client}", h.customAppData)
	h.mux.HandleFunc("GET /gatehouse/users/{id}/identities", h.listIdentities)
	h.mux.HandleFunc("POST /gatehouse/users/{id}/identities", h.linkIdentity)
	h.mux.HandleFunc("DELETE /gatehouse/users/{id}/identities/{provider}", h.unlinkIdentity)
	h.mux.HandleFunc("GET /gatehouse/users/{id}/credentials", h.listCredentials)
	h.mux.HandleFunc("POST /gatehouse/users/{id}/credentials/{cred}/revoke", h.revokeCredential)
	h.mux.HandleFunc("GET /gatehouse/groups", h.listGroups)
	h.mux.HandleFunc("PUT /gatehouse/groups/{name}", h.putGroup)
	h.mux.HandleFunc("DELETE /gatehouse/groups/{name}", h.deleteGroup)
	h.mux.HandleFunc("GET /gatehouse/keys", h.listKeys)
	h.mux.HandleFunc("POST /gatehouse/keys/rotate", h.rotateKeys)
	h.mux.HandleFunc("DELETE /gatehouse/keys/{kid}", h.removeKey)
	h.mountAssertionKeys()
	h.mux.HandleFunc("GET /gatehouse/clients", h.listClients)
	h.mux.HandleFunc("POST /gatehouse/clients/{id}/approve", h.approveClient)
	h.mux.HandleFunc("DELETE /gatehouse/clients/{id}", h.deleteClient)
	h.mux.HandleFunc("GET /gatehouse/audit", h.exportAudit)
	h.mux.HandleFunc("/gatehouse/", func(w http.ResponseWriter, r *http.Request) {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such admin endpoint: "+r.Method+" "+r.URL.Path)
	})
	return h
}

// Actor is the audit actor of the requests to this API: Caddy's admin endpoint has no
// users, whoever can reach it is the administrator.
const Actor = "caddy-admin"

// ServeHTTP routes the request; a write is recorded on the audit trail once it is answered
// (AdminWrite, with the route pattern as the reason and the status in the details).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		h.mux.ServeHTTP(w, r)
		return
	}
	ctx := audit.WithActor(r.Context(), Actor)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ctx = audit.WithIP(ctx, host)
	}
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h.mux.ServeHTTP(sw, r)
	b, err := h.Backend()
	if err != nil || b.Audit == nil {
		return
	}
	_, pattern := h.mux.Handler(r)
	e := audit.Event{Type: audit.AdminWrite, Reason: pattern,
		Details: map[string]string{"path": r.URL.Path, "status": strconv.Itoa(sw.status)}}
	if id := r.PathValue("id"); id != "" && strings.HasPrefix(pattern, r.Method+" /gatehouse/users/") {
		e.UserID = id
	}
	b.Audit.Record(ctx, e)
}

// statusWriter remembers the status of the response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AuditNextHeader names the cursor of the next page of an audit export (the ID of the
// last event of a full page: pass it as after).
const AuditNextHeader = "Gatehouse-Audit-Next"

// exportAudit serves the audit trail as JSON lines (audit.Query): a bad query is a 400
// naming the parameter, a store failure a 503.
func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request) {
	b := h.backend(w)
	if b == nil {
		return
	}
	if b.AuditLog == nil {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "the audit trail is not stored")
		return
	}
	events, next, err := audit.Query(r.Context(), b.AuditLog, r.URL.Query())
	if errors.Is(err, audit.ErrBadQuery) {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_input", err.Error())
		return
	} else if err != nil {
		web.WriteAPIError(w, http.StatusServiceUnavailable, "unavailable", "the audit trail cannot be read now; try again")
		return
	}
	w.Header().Set("Content-Type", audit.ContentType)
	if next != "" {
		w.Header().Set(AuditNextHeader, next)
	}
	w.WriteHeader(http.StatusOK)
	_ = audit.WriteJSONL(w, events) // an error is the client gone
}

func (h *Handler) backend(w http.ResponseWriter) *Backend {
	p, err := h.Backend()
	if err != nil {
		web.WriteAPIError(w, http.StatusServiceUnavailable, "not_configured", err.Error())
		return nil
	}
	return p
}

func writeErr(w http.ResponseWriter, err error) {
	var in *input.Error
	switch {
	case errors.As(err, &in):
		web.WriteJSON(w, http.StatusBadRequest, web.APIError{Error: "invalid_input", Message: in.Error(), Field: in.Field})
	case errors.Is(err, account.ErrUserNotFound):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such user")
	case errors.Is(err, account.ErrEmailTaken):
		web.WriteAPIError(w, http.StatusConflict, "email_taken", "a user with this email already exists")
	case errors.Is(err, account.ErrPhoneTaken):
		web.WriteAPIError(w, http.StatusConflict, "phone_taken", "another user verified this phone number")
	case errors.Is(err, social.ErrUnknown):
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_input", "no social provider of that name is configured")
	case errors.Is(err, social.ErrLinkedOther):
		web.WriteAPIError(w, http.StatusConflict, "identity_taken", "this identity is linked to a user already")
	default:
		web.WriteAPIError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

// maxAdminBody fits a 100 KB custom data payload and the rest of a request.
const maxAdminBody = 256 << 10
