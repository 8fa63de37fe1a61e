// Package secondfactor serves the code second factors of a login and of step-up: a code of
// the user's authenticator app (POST /login/mfa/totp, POST /api/v1/mfa/totp) and a
// recovery code (POST /login/mfa/recovery, POST /api/v1/mfa/recovery). The second-factor
// page that posts them is handlers/login/passkey's (GET /login/mfa); setting up the app and
// making recovery codes is handlers/account's.
//
// A code completes a pending first-factor login (the MFA cookie; no session exists
// meanwhile, CR-18), or raises the current session (step-up). Either way a new session
// replaces the old (PX-25) with amr: the first factor's, plus "otp" and "mfa" for an
// authenticator code, plus "mfa" alone for a recovery code; acr is then aal2.
package secondfactor

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TOTP checks authenticator codes (*totp.Method).
type TOTP interface {
	Verify(ctx context.Context, u store.User, code string) error
}

// RecoveryCodes checks recovery codes (*recoverycode.Codes).
type RecoveryCodes interface {
	Use(ctx context.Context, u store.User, code string) error
}

// Pending are the logins waiting for their second factor (*mfa.Rules).
type Pending interface {
	PendingUser(ctx context.Context, secret string) (store.User, error)
	CompletePending(ctx context.Context, secret string) (mfa.Pending, error)
	Factors(ctx context.Context, userID string) (mfa.Factors, error)
}

// Handler serves the code second factors. Every field is required.
type Handler struct {
	*portalkit.Kit
	TOTP     TOTP
	Recovery RecoveryCodes
	Pending  Pending
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.HandleChange(mux, "POST", "/login/mfa/totp", func(w http.ResponseWriter, r *http.Request) { h.form(w, r, h.totp) })
	h.HandleChange(mux, "POST", "/login/mfa/recovery", func(w http.ResponseWriter, r *http.Request) { h.form(w, r, h.recovery) })
	h.HandleChange(mux, "POST", "/api/v1/mfa/totp", func(w http.ResponseWriter, r *http.Request) { h.api(w, r, h.totp) })
	h.HandleChange(mux, "POST", "/api/v1/mfa/recovery", func(w http.ResponseWriter, r *http.Request) { h.api(w, r, h.recovery) })
}

// check verifies a code of u and returns what it proves.
type check func(ctx context.Context, u store.User, code string) ([]string, error)

func (h *Handler) totp(ctx context.Context, u store.User, code string) ([]string, error) {
	return []string{authn.AMROTP, authn.AMRMFA}, h.TOTP.Verify(ctx, u, code)
}

func (h *Handler) recovery(ctx context.Context, u store.User, code string) ([]string, error) {
	return []string{authn.AMRMFA}, h.Recovery.Use(ctx, u, code)
}

// who returns the user whose second factor is collected: a pending first-factor login (MFA
// cookie), else the current session (step-up).
func (h *Handler) who(r *http.Request) (store.User, *store.Session, error) {
	if sec := h.ShortCookie(r, portalkit.MFACookie); sec != "" {
		if u, err := h.Pending.PendingUser(r.Context(), sec); err == nil {
			return u, nil, nil
		}
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		return store.User{}, nil, err
	}
	return u, &s, nil
}

// finish checks the code and starts the new session.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, u store.User, sess *store.Session, c check, code string) error {
	proves, err := c(r.Context(), u, code)
	if err != nil {
		return err
	}
	var amr []string
	if sess == nil {
		pending, err := h.Pending.CompletePending(r.Context(), h.ShortCookie(r, portalkit.MFACookie))
		if err != nil {
			return err
		}
		h.SetShortCookie(w, portalkit.MFACookie, "", -1)
		amr = pending.AMR
	} else {
		amr = sess.AMR
	}
	// The session is replaced at every privilege change (PX-25).
	return h.StartSession(w, r, u, authn.AddAMR(amr, proves...), false, "")
}

// form: POST /login/mfa/{totp,recovery} {code, return_to, csrf_token}.
func (h *Handler) form(w http.ResponseWriter, r *http.Request, c check) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	u, sess, err := h.who(r)
	if err != nil {
		http.Redirect(w, r, h.LoginURL(target), http.StatusSeeOther)
		return
	}
	if err := h.finish(w, r, u, sess, c, f.Get("code")); err != nil {
		status, _, msg, _ := h.SecondFactorError(w, r, err)
		factors, ferr := h.Pending.Factors(r.Context(), u.ID)
		if ferr != nil {
			h.LogFailure("second-factor page: factors", ferr)
		}
		h.Page(w, r, status, "mfa", "Confirm it's you", msg, portalkit.MFAData{ReturnTo: target, Email: u.Email,
			StepUp: sess != nil, Factors: factors})
		return
	}
	http.Redirect(w, r, h.AfterLogin(target), http.StatusSeeOther)
}

type codeRequest struct {
	Code     string `json:"code"`
	ReturnTo string `json:"return_to"`
}

// api: POST /api/v1/mfa/{totp,recovery} {code, return_to}.
func (h *Handler) api(w http.ResponseWriter, r *http.Request, c check) {
	var req codeRequest
	if !h.Decode(w, r, &req) {
		return
	}
	u, sess, err := h.who(r)
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", h.T(r, "Log in with your password first."))
		return
	} else if err != nil {
		h.APIError(w, r, err)
		return
	}
	if err := h.finish(w, r, u, sess, c, req.Code); err != nil {
		h.APISecondFactorError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: h.AfterLogin(req.ReturnTo)})
}
