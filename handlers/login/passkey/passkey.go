// Package passkey serves login by passkey (WebAuthn) and the passkey as second factor: the
// JSON API of the ceremonies (POST /api/v1/passkeys/{login,mfa}/{begin,finish}) and the
// second-factor page (GET /login/mfa) that a password, code, link or social login of a user
// with a passkey leads to, and that step-up uses. Each challenge is bound to the browser that
// asked for it (the ceremony cookie, CR-22). Passkey sign-up is handlers/signup's; adding,
// renaming and deleting passkeys is handlers/account's.
package passkey

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Passkeys are the login and second-factor ceremonies (*passkey.Method).
type Passkeys interface {
	BeginLogin(ctx context.Context, email string) (*passkey.Ceremony, error)
	FinishLogin(ctx context.Context, secret string, response []byte) (authn.Result, error)
	BeginSecondFactor(ctx context.Context, u store.User, bind string) (*passkey.Ceremony, error)
	FinishSecondFactor(ctx context.Context, u store.User, bind, secret string, response []byte) (store.Passkey, error)
}

// Pending are the logins waiting for their second factor, and the second factors the page
// offers (*mfa.Rules).
type Pending interface {
	PendingUser(ctx context.Context, secret string) (store.User, error)
	CompletePending(ctx context.Context, secret string) (mfa.Pending, error)
	Factors(ctx context.Context, userID string) (mfa.Factors, error)
}

// Handler serves login by passkey and the second-factor step. Every field is required.
type Handler struct {
	*portalkit.Kit
	Passkeys Passkeys
	Pending  Pending
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/login/mfa", h.mfaPage)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/login/begin", h.apiLoginBegin)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/login/finish", h.apiLoginFinish)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/mfa/begin", h.apiMFABegin)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/mfa/finish", h.apiMFAFinish)
}

// apiLoginBegin: POST /api/v1/passkeys/login/begin {email?}.
func (h *Handler) apiLoginBegin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &req); err != nil {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	c, err := h.Passkeys.BeginLogin(r.Context(), req.Email)
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	h.StartCeremony(w, c)
}

// apiLoginFinish: POST /api/v1/passkeys/login/finish.
func (h *Handler) apiLoginFinish(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CredentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	res, err := h.Passkeys.FinishLogin(r.Context(), h.CeremonySecret(w, r), req.Credential)
	u := res.User
	if err == nil {
		err = h.StartSession(w, r, u, res.AMR, false, res.Passkey)
	}
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: h.AfterLogin(req.ReturnTo)})
}

// secondFactorUser returns the user whose second factor is being collected and the ceremony
// binding: a pending first-factor login (MFA cookie), else the current session (step-up).
func (h *Handler) secondFactorUser(r *http.Request) (store.User, string, *store.Session, error) {
	if sec := h.ShortCookie(r, portalkit.MFACookie); sec != "" {
		u, err := h.Pending.PendingUser(r.Context(), sec)
		if err == nil {
			return u, "mfa:" + secret.Hash(sec), nil, nil
		}
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		return store.User{}, "", nil, err
	}
	return u, "session:" + s.ID, &s, nil
}

// apiMFABegin: POST /api/v1/passkeys/mfa/begin.
func (h *Handler) apiMFABegin(w http.ResponseWriter, r *http.Request) {
	u, bind, _, err := h.secondFactorUser(r)
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", h.T(r, "Log in with your password first."))
		return
	} else if err != nil {
		h.APIError(w, r, err)
		return
	}
	c, err := h.Passkeys.BeginSecondFactor(r.Context(), u, bind)
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	h.StartCeremony(w, c)
}

// apiMFAFinish: POST /api/v1/passkeys/mfa/finish.
func (h *Handler) apiMFAFinish(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CredentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, bind, sess, err := h.secondFactorUser(r)
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", h.T(r, "Log in with your password first."))
		return
	} else if err != nil {
		h.APIError(w, r, err)
		return
	}
	pk, err := h.Passkeys.FinishSecondFactor(r.Context(), u, bind, h.CeremonySecret(w, r), req.Credential)
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	var amr []string
	if sess == nil {
		pending, err := h.Pending.CompletePending(r.Context(), h.ShortCookie(r, portalkit.MFACookie))
		if err != nil {
			h.PasskeyError(w, r, err)
			return
		}
		h.SetShortCookie(w, portalkit.MFACookie, "", -1)
		amr = pending.AMR
	} else {
		amr = sess.AMR
	}
	// The session is replaced at every privilege change (PX-25).
	if err := h.StartSession(w, r, u, authn.AddAMR(amr, authn.AMRWebAuthn, authn.AMRMFA), false, pk.ID); err != nil {
		h.APIError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: h.AfterLogin(req.ReturnTo)})
}

// mfaPage: GET /login/mfa — the second-factor (and step-up) page: a passkey, an
// authenticator code or a recovery code, whichever the user has (the codes are posted to
// handlers/login/secondfactor).
func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) {
	target := portalkit.ReturnTo(r.URL.Query().Get("return_to"))
	u, _, sess, err := h.secondFactorUser(r)
	if err != nil {
		http.Redirect(w, r, h.LoginURL(target), http.StatusSeeOther)
		return
	}
	f, err := h.Pending.Factors(r.Context(), u.ID)
	if err != nil {
		h.LogFailure("second-factor page: factors", err)
		f = mfa.Factors{Passkeys: true}
	}
	h.Page(w, r, http.StatusOK, "mfa", "Confirm it's you", "", portalkit.MFAData{ReturnTo: target, Email: u.Email, StepUp: sess != nil, Factors: f})
}
