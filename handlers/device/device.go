// Package device serves the verification page of the device authorization grant
// (RFC 8628 §3.3): GET /device (the user code form, pre-filled from verification_uri_complete),
// POST /device (the code entered: which client asks for which scopes) and POST
// /device/decide (approve or deny). Without a session the page leads to the login page and
// back. Every form carries a CSRF token and is protected against cross-origin posts; wrong
// codes are counted per session and client IP by the identity core (RFC 8628 §5.1), which
// also consumes a user code atomically, so that it is never accepted twice. The device
// authorization endpoint and the token grant are in handlers/oidc.
package device

import (
	"context"
	"errors"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// Path is the verification page (verification_uri).
const Path = "/device"

// Devices decides device authorizations (*oauth.Server).
type Devices interface {
	LookupDevice(ctx context.Context, userCode, sessionID, clientIP string) (*oauth.DeviceRequest, *oauth.Error)
	DecideDevice(ctx context.Context, userCode, sessionID string, approve bool, clientIP string) (*oauth.DeviceRequest, *oauth.Error)
}

// Handler serves the verification page. Every field is required.
type Handler struct {
	*portalkit.Kit
	Devices Devices
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", Path, h.page)
	h.HandleChange(mux, "POST", Path, h.enter)
	h.HandleChange(mux, "POST", Path+"/decide", h.decide)
}

// pageData is the device page's data. Step is "enter" (the code form), "confirm" (approve
// or deny) or "done".
type pageData struct {
	Step, UserCode, App, Email string
	Scopes                     []string
	Approved                   bool
}

// session returns the ID of the browser's session and its user's email, or leads to the
// login page (coming back to target) and returns false.
func (h *Handler) session(w http.ResponseWriter, r *http.Request, target string) (id, email string, ok bool) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		http.Redirect(w, r, h.LoginURL(target), http.StatusSeeOther)
		return "", "", false
	} else if err != nil {
		h.LogFailure("device page: read session", err)
		h.Fail(w, r, http.StatusServiceUnavailable, "Try again later", "The login service is temporarily unavailable. Try again in a moment.", "temporarily_unavailable")
		return "", "", false
	}
	if h.SecondFactor.StepUpRequired(s.AMR) {
		// The settings now require a second factor after this session's way of logging
		// in (login.mfa, issue 18): no device is approved until it is confirmed.
		if has, err := h.SecondFactor.NeedsSecondFactor(r.Context(), u); err == nil && has {
			http.Redirect(w, r, h.Base+"/login/mfa?return_to="+url.QueryEscape(target), http.StatusSeeOther)
			return "", "", false
		}
		status, code, msg, _ := h.Classify(w, r, settings.ErrSecondFactorRequired)
		h.Fail(w, r, status, "Request refused", msg, code)
		return "", "", false
	}
	return s.ID, u.Email, true
}

// GET /device[?user_code=...]: the code form. A code from verification_uri_complete only
// fills the form: the user still confirms it (RFC 8628 §5.4, remote phishing).
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	target := h.Base + Path
	if code != "" {
		target += "?" + url.Values{"user_code": {code}}.Encode()
	}
	if _, _, ok := h.session(w, r, target); !ok {
		return
	}
	if len(code) > 32 {
		code = ""
	}
	h.Page(w, r, http.StatusOK, "device", "Connect a device", "", pageData{Step: "enter", UserCode: code})
}

// POST /device: the entered code; shows which client asks for what.
func (h *Handler) enter(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	sid, email, ok := h.session(w, r, h.Base+Path)
	if !ok {
		return
	}
	code := f.Get("user_code")
	req, oerr := h.Devices.LookupDevice(r.Context(), code, sid, h.ClientIP(r))
	if oerr != nil {
		h.failed(w, r, code, oerr)
		return
	}
	h.Page(w, r, http.StatusOK, "device", "Connect a device", "", pageData{Step: "confirm", UserCode: req.UserCode,
		App: req.Client.Name, Email: email, Scopes: req.Scopes})
}

// POST /device/decide: approve or deny.
func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	sid, _, ok := h.session(w, r, h.Base+Path)
	if !ok {
		return
	}
	var approve bool
	switch f.Get("decision") {
	case "approve":
		approve = true
	case "deny":
	default:
		h.Fail(w, r, http.StatusBadRequest, "Bad request", "Choose Approve or Deny.", "invalid_request")
		return
	}
	code := f.Get("user_code")
	req, oerr := h.Devices.DecideDevice(r.Context(), code, sid, approve, h.ClientIP(r))
	if oerr != nil {
		h.failed(w, r, code, oerr)
		return
	}
	h.Page(w, r, http.StatusOK, "device", "Connect a device", "", pageData{Step: "done", App: req.Client.Name, Approved: approve})
}

// deviceMessages are the device errors the code form shows (Capitalize(Description)+"."),
// marked for the catalogs: Page translates them.
var deviceMessages = []string{
	i18n.N("This code is not valid or has expired; check it on the device and try again."),
	i18n.N("Your session ended; log in again."),
}

// failed shows the code form again with what went wrong.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, code string, oerr *oauth.Error) {
	if oerr.Kind == oauth.Internal {
		h.LogFailure("device page", oerr)
		h.Fail(w, r, http.StatusServiceUnavailable, "Try again later", "The login service is temporarily unavailable. Try again in a moment.", "temporarily_unavailable")
		return
	}
	if len(code) > 32 {
		code = ""
	}
	h.Page(w, r, http.StatusBadRequest, "device", "Connect a device", portalkit.Capitalize(oerr.Description)+".", pageData{Step: "enter", UserCode: code})
}
