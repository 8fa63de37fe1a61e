// Package password serves login by password: the login page's form (POST /login) and the
// JSON API (POST /api/v1/login/password). A user with a passkey continues to the MFA page
// (handlers/login/passkey); the login page itself is handlers/login's.
package password

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
)

// Login is login by password (*password.Method).
type Login interface {
	Login(ctx context.Context, email, password, clientIP string) (authn.Result, error)
}

// SignupOn tells whether self-service sign-up is open (*account.Signup): the login page
// links to it.
type SignupOn interface {
	Enabled() bool
}

// Handler serves login by password. Every field is required.
type Handler struct {
	*portalkit.Kit
	Password Login
	Signup   SignupOn
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.HandleChange(mux, "POST", "/login", h.loginForm)
	h.HandleChange(mux, "POST", "/api/v1/login/password", h.apiLogin)
}

// POST /login {email, password, return_to, csrf_token}.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	data := portalkit.LoginData{ReturnTo: portalkit.ReturnTo(f.Get("return_to")), Email: f.Get("email"), SignupEnabled: h.Signup.Enabled()}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.Page(w, r, http.StatusForbidden, "login", "Log in", "Your form expired. Please try again.", data)
		return
	}
	res, err := h.Password.Login(r.Context(), f.Get("email"), f.Get("password"), h.ClientIP(r))
	var next string
	if err == nil {
		next, err = h.AfterFirstFactor(w, r, res.User, res.AMR, data.ReturnTo)
	}
	if err != nil {
		status, _, msg, _ := h.Classify(w, r, err)
		h.Page(w, r, status, "login", "Log in", msg, data)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	ReturnTo string `json:"return_to"`
}

// apiLogin: POST /api/v1/login/password.
func (h *Handler) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	res, err := h.Password.Login(r.Context(), req.Email, req.Password, h.ClientIP(r))
	u := res.User
	var next string
	if err == nil {
		next, err = h.AfterFirstFactor(w, r, u, res.AMR, req.ReturnTo)
	}
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	out := portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: next}
	out.MFARequired = next != h.AfterLogin(req.ReturnTo)
	web.WriteJSON(w, http.StatusOK, out)
}
