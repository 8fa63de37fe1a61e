// Package signup serves self-service sign-up: the page and form (GET and POST /signup), the
// JSON API (POST /api/v1/signup), sign-up with a passkey (POST
// /api/v1/passkeys/signup/{begin,finish}), and — when the address is proven before the
// account exists — the code step (GET and POST /signup/verify, POST /api/v1/signup/verify).
// A new account whose address is not verified yet is sent a code and led to
// /account/email/verify (handlers/account).
package signup

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Signup is self-service sign-up (*account.Signup).
type Signup interface {
	Enabled() bool
	InviteRequired() bool
	VerifiesFirst() bool
	Create(ctx context.Context, in account.NewUser, invite, clientIP string) (authn.Result, error)
	Start(ctx context.Context, in account.NewUser, invite, lang, clientIP string) (string, error)
	Finish(ctx context.Context, flow, code, clientIP string) (authn.Result, error)
}

// Passkeys are the sign-up ceremonies with a passkey (*passkey.Method).
type Passkeys interface {
	BeginSignup(ctx context.Context, in account.NewUser, invite, clientIP string) (*passkey.Ceremony, error)
	FinishSignup(ctx context.Context, secret string, response []byte, name string) (authn.Result, error)
	FinishSignupByCode(ctx context.Context, secret string, response []byte, name, lang, clientIP string) (string, error)
}

// EmailVerification sends a new account the code that proves its address
// (*account.Verification).
type EmailVerification interface {
	StartEmail(ctx context.Context, s store.Session, u store.User, email, lang, clientIP string) (string, error)
}

// Handler serves sign-up. Every field is required.
type Handler struct {
	*portalkit.Kit
	Signup       Signup
	Passkeys     Passkeys
	Verification EmailVerification
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/signup", h.page)
	h.HandleChange(mux, "POST", "/signup", h.form)
	h.Handle(mux, "GET", "/signup/verify", h.verifyPage)
	h.HandleChange(mux, "POST", "/signup/verify", h.verifyForm)
	h.HandleChange(mux, "POST", "/api/v1/signup", h.apiSignup)
	h.HandleChange(mux, "POST", "/api/v1/signup/verify", h.apiVerify)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/signup/begin", h.apiPasskeyBegin)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/signup/finish", h.apiPasskeyFinish)
}

type signupData struct {
	ReturnTo       string
	Email          string
	FirstName      string
	LastName       string
	Invite         string
	InviteRequired bool
}

// GET /signup.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	if !h.Signup.Enabled() {
		h.Fail(w, r, http.StatusForbidden, "Sign-up is closed", "Sign-up is closed. Ask an administrator for an account.", "signup_closed")
		return
	}
	q := r.URL.Query()
	invite := q.Get("invite")
	if len(invite) > 128 {
		invite = ""
	}
	h.Page(w, r, http.StatusOK, "signup", "Sign up", "", signupData{ReturnTo: portalkit.ReturnTo(q.Get("return_to")),
		Invite: invite, InviteRequired: h.Signup.InviteRequired()})
}

// POST /signup.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	data := signupData{ReturnTo: portalkit.ReturnTo(f.Get("return_to")), Email: f.Get("email"), FirstName: f.Get("fname"),
		LastName: f.Get("lname"), Invite: f.Get("invite"), InviteRequired: h.Signup.InviteRequired()}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.Page(w, r, http.StatusForbidden, "signup", "Sign up", "Your form expired. Please try again.", data)
		return
	}
	in := account.NewUser{Email: f.Get("email"), Password: f.Get("password"), FirstName: f.Get("fname"), LastName: f.Get("lname")}
	if h.Signup.VerifiesFirst() {
		flow, err := h.Signup.Start(r.Context(), in, f.Get("invite"), h.Lang(r), h.ClientIP(r))
		if err != nil {
			status, _, msg, _ := h.CodeError(w, r, err)
			h.Page(w, r, status, "signup", "Sign up", msg, data)
			return
		}
		h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
		http.Redirect(w, r, h.verifyURL(data.ReturnTo), http.StatusSeeOther)
		return
	}
	res, err := h.Signup.Create(r.Context(), in, f.Get("invite"), h.ClientIP(r))
	u := res.User
	if err == nil {
		err = h.StartSession(w, r, u, res.AMR, true, "")
	}
	if err != nil {
		status, _, msg, _ := h.Classify(w, r, err)
		h.Page(w, r, status, "signup", "Sign up", msg, data)
		return
	}
	http.Redirect(w, r, h.afterSignup(w, r, u, data.ReturnTo), http.StatusSeeOther)
}

type signupRequest struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	FirstName  string `json:"fname"`
	MiddleName string `json:"mname"`
	LastName   string `json:"lname"`
	Invite     string `json:"invite"`
	ReturnTo   string `json:"return_to"`
}

// apiSignup: POST /api/v1/signup. When the address is proven first (verify.go) the answer
// is 202 and the code step, the same for every address; otherwise 201 and a session, or
// 409 email_taken.
func (h *Handler) apiSignup(w http.ResponseWriter, r *http.Request) {
	var req signupRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	in := account.NewUser{Email: req.Email, Password: req.Password, FirstName: req.FirstName, MiddleName: req.MiddleName, LastName: req.LastName}
	if h.Signup.VerifiesFirst() {
		flow, err := h.Signup.Start(r.Context(), in, req.Invite, h.Lang(r), h.ClientIP(r))
		if err != nil {
			h.APICodeError(w, r, err)
			return
		}
		h.codeSent(w, flow, req.ReturnTo)
		return
	}
	res, err := h.Signup.Create(r.Context(), in, req.Invite, h.ClientIP(r))
	u := res.User
	if err == nil {
		err = h.StartSession(w, r, u, res.AMR, true, "")
	}
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: h.afterSignup(w, r, u, req.ReturnTo)})
}

// apiPasskeyBegin: POST /api/v1/passkeys/signup/begin.
func (h *Handler) apiPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var req signupRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	c, err := h.Passkeys.BeginSignup(r.Context(), account.NewUser{Email: req.Email, FirstName: req.FirstName,
		MiddleName: req.MiddleName, LastName: req.LastName}, req.Invite, h.ClientIP(r))
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	h.StartCeremony(w, c)
}

// apiPasskeyFinish: POST /api/v1/passkeys/signup/finish.
func (h *Handler) apiPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CredentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if h.Signup.VerifiesFirst() {
		flow, err := h.Passkeys.FinishSignupByCode(r.Context(), h.CeremonySecret(w, r), req.Credential, req.Name,
			h.Lang(r), h.ClientIP(r))
		if err != nil {
			h.PasskeyError(w, r, err)
			return
		}
		h.codeSent(w, flow, req.ReturnTo)
		return
	}
	res, err := h.Passkeys.FinishSignup(r.Context(), h.CeremonySecret(w, r), req.Credential, req.Name)
	u := res.User
	if err == nil {
		err = h.StartSession(w, r, u, res.AMR, true, res.Passkey)
	}
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: h.afterSignup(w, r, u, req.ReturnTo)})
}

// afterSignup sends the new account a code to verify its email address, when email can be
// sent, and returns where the browser goes next: the page asking for that code (which can be
// skipped), else target.
func (h *Handler) afterSignup(w http.ResponseWriter, r *http.Request, u store.User, target string) string {
	if !h.Channels.CanEmail() || u.EmailVerified {
		return h.AfterLogin(target)
	}
	// The account's own address: no fresh-login question, so no session is needed.
	flow, err := h.Verification.StartEmail(r.Context(), store.Session{}, u, "", h.Lang(r), h.ClientIP(r))
	if err != nil {
		h.Logger.Warn("sign-up: send verification code", "error", err)
		return h.AfterLogin(target)
	}
	h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
	next := h.Base + "/account/email/verify"
	if t := portalkit.ReturnTo(target); t != "" {
		next += "?return_to=" + url.QueryEscape(t)
	}
	return next
}
