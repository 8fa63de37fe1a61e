package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Paths of the transaction approval (package approval): the page's form (decline, send a
// code, enter the code) and the passkey ceremony's JSON endpoints (<path>/begin, /finish).
const (
	PathApprove        = "/authorize/approve"
	PathApprovePasskey = "/authorize/approve/passkey"
)

// Cookies of an approval: the passkey ceremony's secret and the code's flow secret.
const (
	approveCeremonyCookie = "approve_ceremony"
	approveCodeCookie     = "approve_code"
)

// Approver runs transaction approvals (*approval.Approver).
type Approver interface {
	Begin(ctx context.Context, tx approval.Transaction, u store.User, bind string) (*passkey.Ceremony, error)
	Finish(ctx context.Context, tx approval.Transaction, u store.User, bind, secret string, response []byte) (string, error)
	Channel(u store.User) (channel, dest string)
	SendCode(ctx context.Context, tx approval.Transaction, u store.User, bind, lang, clientIP string) (string, error)
	CheckCode(ctx context.Context, tx approval.Transaction, u store.User, bind, flow, code, clientIP string) (string, error)
}

// approvalData is the approval page's data.
type approvalData struct {
	// App is the client's name; Email the user's.
	App, Email string
	Tx         approval.Transaction
	// Request resumes the authorization request (client_id and request_uri).
	Request string
	// Action is the form's target; PasskeyAPI the ceremony's endpoints.
	Action, PasskeyAPI string
	// CanPasskey: passkeys are on; CanCode: a code may be sent; CodeSent: one was, the page
	// asks for it (SentTo names where).
	CanPasskey, CanCode, CodeSent bool
	SentTo                        string
}

// approvalBind ties a ceremony or code to the request it approves and the session.
func approvalBind(req *oauth.AuthRequest, s store.Session) string {
	return secret.Hash("approval\x00" + req.PushedRequestURI + "\x00" + s.ID)
}

// otpAllowed tells whether the request's transaction may be approved with a code.
func (h *Handler) otpAllowed(req *oauth.AuthRequest) bool {
	return h.ApprovalOTP || req.Client.ApprovalOTP
}

// approvalPage shows the transaction of req with the ways to approve it (the user is logged
// in: s, u). sentTo, if set, says a code was sent there; msg is an error to show.
func (h *Handler) approvalPage(w http.ResponseWriter, r *http.Request, params url.Values, req *oauth.AuthRequest, s store.Session, u store.User, sentTo, msg string) {
	lang := i18n.FromRequest(r, h.Locale)
	tx, err := approval.FromCanonical(req.ApprovalData)
	if err != nil || h.Approval == nil {
		h.Logger.Error("approval page: transaction or approver missing", "error", err)
		h.redirectError(w, r, req, codeServerError, "the transaction cannot be shown")
		return
	}
	ch, _ := h.Approval.Channel(u)
	d := approvalData{App: req.Client.Name, Email: u.Email, Tx: tx, Request: params.Encode(),
		Action: h.Base + PathApprove, PasskeyAPI: h.Base + PathApprovePasskey,
		CanPasskey: h.Passkeys.Enabled(), CanCode: h.otpAllowed(req) && ch != "",
		CodeSent: sentTo != "", SentTo: sentTo}
	web.SecurityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Templates.Render(w, http.StatusOK, "approve", ui.Page{Brand: h.Brand, Base: h.Base, Lang: lang,
		Title: i18n.T(lang, "Approve this transaction"), CSRF: h.CSRF.Token(w, r), Data: d, Error: msg, Passkeys: h.Passkeys.Enabled()}); err != nil {
		h.Logger.Error("render approval page", "error", err)
	}
}

// approvalContext is a request being approved, re-read at each answer of the page.
type approvalContext struct {
	req    *oauth.AuthRequest
	params url.Values
	s      store.Session
	u      store.User
	tx     approval.Transaction
	bind   string
}

// loadApproval re-reads the approval's request from the browser's parameters (request: the
// page's client_id and request_uri) and the session; without a session of a user, or for a
// request without a transaction, it answers the browser itself and returns nil.
func (h *Handler) loadApproval(w http.ResponseWriter, r *http.Request, request string, api bool) *approvalContext {
	fail := func(status int, code, msg string) *approvalContext {
		if api {
			web.WriteAPIError(w, status, code, h.T(r, msg))
		} else {
			h.errorPage(w, r, status, "Invalid request", msg, code)
		}
		return nil
	}
	lost := i18n.N("The approval lost its sign-in request. Go back to the application and start again.")
	q, err := url.ParseQuery(request)
	if err != nil || !q.Has("request_uri") {
		return fail(http.StatusBadRequest, codeInvalidRequest, lost)
	}
	eff, params, pushed, e := h.openPushed(w, r, q)
	if e != nil {
		return fail(http.StatusBadRequest, e.Code, lost)
	}
	if pushed == nil {
		return fail(http.StatusBadRequest, codeInvalidRequest, lost)
	}
	req, _, e := h.parseRequest(r.Context(), eff, pushed, q.Get("request_uri"))
	if e != nil || len(req.ApprovalData) == 0 {
		return fail(http.StatusBadRequest, codeInvalidRequest, lost)
	}
	if pushed.Expired {
		if api {
			web.WriteAPIError(w, http.StatusGone, "expired", h.T(r, "This approval expired. Go back to the application and start again."))
			return nil
		}
		h.redirectError(w, r, req, codeAccessDenied, "the transaction was not approved in time")
		return nil
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		return fail(http.StatusUnauthorized, "login_required", i18n.N("Your session ended. Go back to the application and start again."))
	}
	tx, err := approval.FromCanonical(req.ApprovalData)
	if err != nil {
		return fail(http.StatusBadRequest, codeInvalidRequest, lost)
	}
	return &approvalContext{req: req, params: params, s: s, u: u, tx: tx, bind: approvalBind(req, s)}
}

// approveDecision serves POST /authorize/approve (CSRF token): decision=decline ends the
// request with access_denied; send_code sends a code (when allowed); code checks it and
// issues the authorization code.
func (h *Handler) approveDecision(w http.ResponseWriter, r *http.Request) {
	web.SecurityHeaders(w.Header())
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", h.T(r, "The form is malformed: %s.", err.Error()), codeInvalidRequest)
		return
	}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.errorPage(w, r, http.StatusForbidden, "Request refused", "This form has expired or came from another site. Go back to the application and sign in again.", "csrf")
		return
	}
	a := h.loadApproval(w, r, f.Get("request"), false)
	if a == nil {
		return
	}
	ctx := r.Context()
	lang := i18n.FromRequest(r, h.Locale)
	switch f.Get("decision") {
	case "decline":
		// RFC 6749 §4.1.2.1: access_denied, "The resource owner or authorization server
		// denied the request."
		h.redirectError(w, r, a.req, codeAccessDenied, "the user declined the transaction")
	case "send_code":
		if !h.otpAllowed(a.req) {
			h.approvalPage(w, r, a.params, a.req, a.s, a.u, "", h.T(r, approval.ErrOTPNotAllowed.Error()))
			return
		}
		flow, err := h.Approval.SendCode(ctx, a.tx, a.u, a.bind, lang, h.clientIP(r))
		if err != nil {
			h.approvalPage(w, r, a.params, a.req, a.s, a.u, "", h.userError(r, err))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: web.CookieName(approveCodeCookie, h.secure()), Value: flow, Path: "/",
			HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteStrictMode, MaxAge: 600})
		_, dest := h.Approval.Channel(a.u)
		h.approvalPage(w, r, a.params, a.req, a.s, a.u, dest, "")
	case "code":
		if !h.otpAllowed(a.req) {
			h.approvalPage(w, r, a.params, a.req, a.s, a.u, "", h.T(r, approval.ErrOTPNotAllowed.Error()))
			return
		}
		var flow string
		if c, err := r.Cookie(web.CookieName(approveCodeCookie, h.secure())); err == nil {
			flow = c.Value
		}
		amr, err := h.Approval.CheckCode(ctx, a.tx, a.u, a.bind, flow, f.Get("code"), h.clientIP(r))
		if err != nil {
			_, dest := h.Approval.Channel(a.u)
			h.approvalPage(w, r, a.params, a.req, a.s, a.u, dest, h.userError(r, err))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: web.CookieName(approveCodeCookie, h.secure()), Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: h.secure()})
		h.approved(w, r, a, amr, false)
	default:
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", "Choose Approve or Decline.", codeInvalidRequest)
	}
}

// userError is the text shown for an approval failure: the domain's user-facing errors as
// they are, anything else a generic message (logged).
func (h *Handler) userError(r *http.Request, err error) string {
	var ierr *input.Error
	var limit *otp.SendLimitError
	var locked *lockout.LockedError
	switch {
	case errors.Is(err, passkey.ErrPasskeyFailed), errors.Is(err, passkey.ErrCeremonyExpired),
		errors.Is(err, passkey.ErrPasskeyMalformed), errors.Is(err, passkey.ErrNoPasskey),
		errors.Is(err, passkey.ErrClonedAuthenticator), errors.Is(err, passkey.ErrPasskeysDisabled),
		errors.Is(err, approval.ErrNoChannel), errors.Is(err, approval.ErrOTPNotAllowed):
		return h.T(r, err.Error())
	case errors.Is(err, otp.ErrCodeInvalid), errors.Is(err, otp.ErrCodeExpired), errors.Is(err, otp.ErrCodeAttempts):
		return h.T(r, err.Error())
	case errors.As(err, &ierr), errors.As(err, &limit), errors.As(err, &locked):
		return err.Error()
	}
	h.Logger.Error("approval", "error", err)
	return h.T(r, "Something went wrong. Try again.")
}

// approved issues the code of an approved transaction and sends the browser to the client
// (api: as JSON {"redirect_to": ...} for the page's script).
func (h *Handler) approved(w http.ResponseWriter, r *http.Request, a *approvalContext, amr string, api bool) {
	code, err := h.OAuth.IssueApprovalCode(r.Context(), a.req, a.s, amr)
	if err != nil {
		h.Logger.Error("approval: issue code", "error", err)
		if api {
			web.WriteAPIError(w, http.StatusServiceUnavailable, codeServerError, h.T(r, "Something went wrong. Try again."))
			return
		}
		h.redirectError(w, r, a.req, codeServerError, "the authorization code could not be issued")
		return
	}
	if !api {
		h.redirectTo(w, r, a.req, url.Values{"code": {code}})
		return
	}
	rec := &redirectRecorder{header: http.Header{}}
	h.redirectTo(rec, r, a.req, url.Values{"code": {code}})
	if rec.status != http.StatusFound {
		web.WriteAPIError(w, http.StatusBadRequest, codeInvalidRequestURI, h.T(r, "This approval was already answered. Go back to the application and start again."))
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"redirect_to": rec.header.Get("Location")})
}

// redirectRecorder captures a redirect (the JSON endpoints answer its target).
type redirectRecorder struct {
	header http.Header
	status int
}

func (r *redirectRecorder) Header() http.Header         { return r.header }
func (r *redirectRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *redirectRecorder) WriteHeader(status int)      { r.status = status }

// approvePasskeyBegin serves POST /authorize/approve/passkey/begin ({"request": ...}): the
// options of an assertion whose challenge is bound to the transaction (package approval).
func (h *Handler) approvePasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Request string `json:"request"`
	}
	if err := web.DecodeJSON(w, r, &body); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, codeInvalidRequest, err.Error())
		return
	}
	a := h.loadApproval(w, r, body.Request, true)
	if a == nil {
		return
	}
	c, err := h.Approval.Begin(r.Context(), a.tx, a.u, a.bind)
	if err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "passkey", h.userError(r, err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: web.CookieName(approveCeremonyCookie, h.secure()), Value: c.Secret, Path: "/",
		HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteStrictMode, MaxAge: int(passkey.CeremonyTTL.Seconds())})
	web.WriteJSON(w, http.StatusOK, c.Options)
}

// approvePasskeyFinish serves POST /authorize/approve/passkey/finish ({"request": ...,
// "credential": ...}): verifies the assertion for this transaction and issues the code.
func (h *Handler) approvePasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Request    string          `json:"request"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := web.DecodeJSON(w, r, &body); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, codeInvalidRequest, err.Error())
		return
	}
	a := h.loadApproval(w, r, body.Request, true)
	if a == nil {
		return
	}
	var sec string
	if c, err := r.Cookie(web.CookieName(approveCeremonyCookie, h.secure())); err == nil {
		sec = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: web.CookieName(approveCeremonyCookie, h.secure()), Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure()})
	amr, err := h.Approval.Finish(r.Context(), a.tx, a.u, a.bind, sec, body.Credential)
	if err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "passkey", h.userError(r, err))
		return
	}
	h.approved(w, r, a, amr, true)
}
