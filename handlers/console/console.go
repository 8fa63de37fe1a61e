// Package console is the admin console: server-rendered pages under <portal>/admin/ with
// the hosted pages' templates, CSP and static assets (no script of its own).
//
// Every console action is an Administration API call first: a page reads, and a form
// writes, by calling the handlers/adminv1 handler in-process with the browser's own
// cookies and the form's CSRF token (as the X-CSRF-Token header). The API therefore
// decides everything — who is an administrator (admin_group), whether a write has a fresh
// multi-factor login (admin_max_age), what input is valid, the ETag checks, the audit
// event — and the console only renders its answers. There is no second implementation of
// a rule here.
//
// A request without a session goes to the login page and comes back; a user outside the
// admin group gets 403; a write without a fresh multi-factor login is sent through a
// step-up login (the login page with return_to) and back to the page it came from; a form
// without its CSRF token is refused (403) before the API is called.
package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
)

// Path is where the console is mounted below the portal's base.
const Path = "/admin"

// Handler serves the console.
type Handler struct {
	*portalkit.Kit
	// API is the Administration API as the portal mounts it (requests carry the full path,
	// Base+adminv1.Prefix+...).
	API http.Handler
}

// Mount registers the console's routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", Path, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, h.Base+Path+"/", http.StatusSeeOther)
	})
	h.Handle(mux, "GET", Path+"/{$}", h.dashboard)
	h.Handle(mux, "GET", Path+"/users", h.users)
	h.HandleChange(mux, "POST", Path+"/users", h.createUser)
	h.HandleChange(mux, "POST", Path+"/invitations", h.invite)
	h.Handle(mux, "GET", Path+"/users/{id}", h.user)
	h.HandleChange(mux, "POST", Path+"/users/{id}/{action}", h.userAction)
	h.Handle(mux, "GET", Path+"/clients", h.clients)
	h.HandleChange(mux, "POST", Path+"/clients", h.createClient)
	h.Handle(mux, "GET", Path+"/clients/{id}", h.client)
	h.HandleChange(mux, "POST", Path+"/clients/{id}/{action}", h.clientAction)
	h.Handle(mux, "GET", Path+"/groups", h.groups)
	h.HandleChange(mux, "POST", Path+"/groups/{name}/{action}", h.groupAction)
	h.Handle(mux, "GET", Path+"/audit", h.auditLog)
	h.Handle(mux, "GET", Path+"/settings", h.settingsPage)
	h.HandleChange(mux, "POST", Path+"/settings", h.saveSettings)
	h.Handle(mux, "GET", Path+"/templates", h.templatesPage)
	h.HandleChange(mux, "POST", Path+"/templates/{action}", h.templateAction)
	h.Handle(mux, "GET", Path+"/providers", h.providersPage)
	h.HandleChange(mux, "POST", Path+"/providers/{name}/{action}", h.providerAction)
	h.Handle(mux, "GET", Path+"/roles", h.rolesPage)
	h.HandleChange(mux, "POST", Path+"/roles/{name}/{action}", h.roleAction)
}

// answer is the API's answer to one in-process call.
type answer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *answer) Header() http.Header         { return a.header }
func (a *answer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *answer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

// ok tells whether the call succeeded.
func (a *answer) ok() bool { return a.status < 300 }

// problem is the API's problem+json of a failed call.
func (a *answer) problem() adminv1.Problem {
	var p adminv1.Problem
	_ = json.Unmarshal(a.body.Bytes(), &p)
	if p.Status == 0 {
		p.Status = a.status
	}
	return p
}

// decode reads a successful answer's JSON into v.
func (a *answer) decode(v any) error {
	if err := json.Unmarshal(a.body.Bytes(), v); err != nil {
		return fmt.Errorf("console: decode the API's answer: %w", err)
	}
	return nil
}

// call sends one request to the API in-process, as the browser of r: its cookies (the
// session and the CSRF cookie), csrf as the X-CSRF-Token header of a write, body (nil for
// none) as JSON, and extra headers (If-Match).
func (h *Handler) call(r *http.Request, method, path, csrf string, body any, extra ...string) (*answer, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("console: encode the API request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, h.Base+adminv1.Prefix+path, rd)
	if err != nil {
		return nil, fmt.Errorf("console: API request: %w", err)
	}
	req.RemoteAddr, req.Host = r.RemoteAddr, r.Host
	req.Header["Cookie"] = r.Header["Cookie"]
	// Only what the API needs of the browser: never a header that would let it choose an
	// identity (Authorization) or an address (X-Forwarded-*: the client IP is Caddy's,
	// carried in the request's context).
	for _, k := range []string{"User-Agent", "Accept-Language"} {
		if v := r.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set(adminv1.CSRFHeader, csrf)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	a := &answer{header: http.Header{}}
	h.API.ServeHTTP(a, req)
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a, nil
}

// read GETs an API path for a page and decodes its answer into v. When the API refuses
// the caller it answers the browser itself (login, 403) and returns false.
func (h *Handler) read(w http.ResponseWriter, r *http.Request, path string, v any) bool {
	a, err := h.call(r, "GET", path, "", nil)
	if err == nil && a.ok() {
		err = a.decode(v)
		if err == nil {
			return true
		}
	}
	if err != nil {
		h.Logger.Error("console: API read", "path", path, "error", err)
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return false
	}
	h.refused(w, r, a.problem(), r.URL.RequestURI())
	return false
}

// refused answers an API refusal: no session (or an ended one) and a stale multi-factor
// login go through the login page and come back to back; a non-administrator and a
// missing CSRF token are 403; anything else is the error page saying what the API
// refused, in the page's language (problemText).
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, p adminv1.Problem, back string) {
	switch {
	case p.Status == http.StatusUnauthorized, p.Status == http.StatusForbidden && p.Missing == adminv1.MissingFreshMFA:
		// The login page shows its form even to a logged-in browser when return_to is set:
		// this is the step-up login.
		http.Redirect(w, r, h.LoginURL(back), http.StatusSeeOther)
	case p.Status == http.StatusForbidden && p.Missing == adminv1.MissingGroup:
		h.Fail(w, r, http.StatusForbidden, "Not allowed", "Only administrators can open the console.", "admin_required")
	case p.Status == http.StatusForbidden && p.Missing == adminv1.MissingCSRF:
		h.Fail(w, r, http.StatusForbidden, "Request refused", "Your form expired. Go back, reload the page and try again.", "csrf")
	case p.Status == http.StatusNotFound:
		h.Fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.", "not_found")
	default:
		h.Fail(w, r, p.Status, "Request refused", h.problemText(r, p), "invalid_request")
	}
}

// write runs a form's API call: the form's CSRF token (checked by Kit.Form when the
// handler read the form) is sent on as the header the API checks again. ok is true when the call succeeded; otherwise the
// refusal was answered (login, step-up, 403) unless errMsg is set: a validation error or an
// edit conflict (412) for the page to show next to its form, in the page's language
// (problemText).
func (h *Handler) write(w http.ResponseWriter, r *http.Request, f url.Values, back, method, path string, body any, extra ...string) (a *answer, errMsg string, ok bool) {
	a, err := h.call(r, method, path, f.Get("csrf_token"), body, extra...)
	if err != nil {
		h.Logger.Error("console: API write", "path", path, "error", err)
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return nil, "", false
	}
	if a.ok() {
		return a, "", true
	}
	p := a.problem()
	switch p.Status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired,
		http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return a, h.problemText(r, p), false
	}
	h.refused(w, r, p, back)
	return a, "", false
}

// list splits a comma- or newline-separated field into its trimmed, non-empty items.
func list(s string) []string {
	out := []string{}
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
