package login

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	authn "github.com/gatehouse-dev/gatehouse/login"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Cookies of the passkey ceremonies: the ceremony cookie binds a WebAuthn challenge to the
// browser that asked for it (CR-22); the MFA cookie holds a password login waiting for its
// second factor (no session exists meanwhile, CR-18).
const (
	ceremonyCookie = "webauthn"
	mfaCookie      = "mfa"
)

func (h *Handler) setShortCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: web.CookieName(name, h.CSRF.Secure), Value: value, Path: "/",
		MaxAge: maxAge, HttpOnly: true, Secure: h.CSRF.Secure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) shortCookie(r *http.Request, name string) string {
	c, err := r.Cookie(web.CookieName(name, h.CSRF.Secure))
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *Handler) startCeremony(w http.ResponseWriter, c *passkey.Ceremony) {
	h.setShortCookie(w, ceremonyCookie, c.Secret, 300)
	web.WriteJSON(w, http.StatusOK, c.Options)
}

func (h *Handler) ceremonySecret(w http.ResponseWriter, r *http.Request) string {
	sec := h.shortCookie(r, ceremonyCookie)
	h.setShortCookie(w, ceremonyCookie, "", -1)
	return sec
}

// passkeyError maps passkey errors to API answers.
func (h *Handler) passkeyError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, passkey.ErrPasskeyFailed), errors.Is(err, passkey.ErrClonedAuthenticator):
		web.WriteAPIError(w, http.StatusUnauthorized, "passkey_failed", capitalize(err.Error())+".")
	case errors.Is(err, passkey.ErrPasskeyMalformed):
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_credential", capitalize(err.Error())+".")
	case errors.Is(err, passkey.ErrCeremonyExpired):
		web.WriteAPIError(w, http.StatusBadRequest, "ceremony_expired", capitalize(err.Error())+".")
	case errors.Is(err, sessions.ErrReauthenticate):
		web.WriteAPIError(w, http.StatusForbidden, "reauthenticate", capitalize(err.Error())+".")
	case errors.Is(err, passkey.ErrPasskeysDisabled):
		web.WriteAPIError(w, http.StatusNotImplemented, "passkeys_unavailable", capitalize(err.Error())+".")
	case errors.Is(err, passkey.ErrLastCredential), errors.Is(err, passkey.ErrNoPasskey):
		web.WriteAPIError(w, http.StatusConflict, "last_credential", capitalize(err.Error())+".")
	default:
		h.apiCodeError(w, err) // a passkey sign-up that sends a code can hit the send limits
	}
}

type credentialRequest struct {
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
	ReturnTo   string          `json:"return_to"`
}

// apiPasskeySignupBegin: POST /api/v1/passkeys/signup/begin.
func (h *Handler) apiPasskeySignupBegin(w http.ResponseWriter, r *http.Request) {
	var req signupRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	c, err := h.Passkeys.BeginSignup(r.Context(), account.NewUser{Email: req.Email, FirstName: req.FirstName,
		MiddleName: req.MiddleName, LastName: req.LastName}, req.Invite, h.ClientIP(r))
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	h.startCeremony(w, c)
}

// apiPasskeySignupFinish: POST /api/v1/passkeys/signup/finish.
func (h *Handler) apiPasskeySignupFinish(w http.ResponseWriter, r *http.Request) {
	var req credentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if h.Signup.VerifiesFirst() {
		flow, err := h.Passkeys.FinishSignupByCode(r.Context(), h.ceremonySecret(w, r), req.Credential, req.Name,
			preferredLanguage(r), h.ClientIP(r))
		if err != nil {
			h.passkeyError(w, err)
			return
		}
		h.signupCodeSent(w, flow, req.ReturnTo)
		return
	}
	res, err := h.Passkeys.FinishSignup(r.Context(), h.ceremonySecret(w, r), req.Credential, req.Name)
	u := res.User
	if err == nil {
		err = h.startSessionWith(w, r, u, res.AMR, true, res.Passkey)
	}
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, authResult{User: toUserJSON(u), RedirectTo: h.afterSignup(w, r, u, req.ReturnTo)})
}

// apiPasskeyLoginBegin: POST /api/v1/passkeys/login/begin {email?}.
func (h *Handler) apiPasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
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
		h.passkeyError(w, err)
		return
	}
	h.startCeremony(w, c)
}

// apiPasskeyLoginFinish: POST /api/v1/passkeys/login/finish.
func (h *Handler) apiPasskeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	var req credentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	res, err := h.Passkeys.FinishLogin(r.Context(), h.ceremonySecret(w, r), req.Credential)
	u := res.User
	if err == nil {
		err = h.startSessionWith(w, r, u, res.AMR, false, res.Passkey)
	}
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, authResult{User: toUserJSON(u), RedirectTo: h.afterLogin(req.ReturnTo)})
}

// secondFactorUser returns the user whose second factor is being collected and the ceremony
// binding: a pending password login (MFA cookie), else the current session (step-up).
func (h *Handler) secondFactorUser(r *http.Request) (store.User, string, *store.Session, error) {
	if sec := h.shortCookie(r, mfaCookie); sec != "" {
		u, err := h.MFA.PendingUser(r.Context(), sec)
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

// apiPasskeyMFABegin: POST /api/v1/passkeys/mfa/begin.
func (h *Handler) apiPasskeyMFABegin(w http.ResponseWriter, r *http.Request) {
	u, bind, _, err := h.secondFactorUser(r)
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", "Log in with your password first.")
		return
	} else if err != nil {
		h.apiError(w, err)
		return
	}
	c, err := h.Passkeys.BeginSecondFactor(r.Context(), u, bind)
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	h.startCeremony(w, c)
}

// apiPasskeyMFAFinish: POST /api/v1/passkeys/mfa/finish.
func (h *Handler) apiPasskeyMFAFinish(w http.ResponseWriter, r *http.Request) {
	var req credentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, bind, sess, err := h.secondFactorUser(r)
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", "Log in with your password first.")
		return
	} else if err != nil {
		h.apiError(w, err)
		return
	}
	pk, err := h.Passkeys.FinishSecondFactor(r.Context(), u, bind, h.ceremonySecret(w, r), req.Credential)
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	amr := []string{authn.AMRPassword}
	if sess == nil {
		pending, err := h.MFA.CompletePending(r.Context(), h.shortCookie(r, mfaCookie))
		if err != nil {
			h.passkeyError(w, err)
			return
		}
		h.setShortCookie(w, mfaCookie, "", -1)
		amr = pending.AMR
	} else {
		amr = sess.AMR
	}
	// The session is replaced at every privilege change (PX-25).
	if err := h.startSessionWith(w, r, u, addAMR(amr, authn.AMRWebAuthn, authn.AMRMFA), false, pk.ID); err != nil {
		h.apiError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, authResult{User: toUserJSON(u), RedirectTo: h.afterLogin(req.ReturnTo)})
}

func addAMR(amr []string, more ...string) []string {
	out := append([]string{}, amr...)
	for _, m := range more {
		found := false
		for _, a := range out {
			found = found || a == m
		}
		if !found {
			out = append(out, m)
		}
	}
	return out
}

type passkeyJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func toPasskeyJSON(pk store.Passkey) passkeyJSON {
	return passkeyJSON{ID: pk.ID, Name: pk.Name, Type: passkeyType(pk), CreatedAt: pk.CreatedAt, LastUsedAt: pk.LastUsedAt}
}

// passkeyType describes the authenticator from what registration told us.
func passkeyType(pk store.Passkey) string {
	var c struct {
		Flags struct {
			BackupEligible bool `json:"backupEligible"`
		} `json:"flags"`
		Authenticator struct {
			Attachment string `json:"attachment"`
		} `json:"authenticator"`
	}
	_ = json.Unmarshal(pk.Credential, &c)
	switch {
	case c.Flags.BackupEligible:
		return "synced passkey"
	case c.Authenticator.Attachment == "cross-platform":
		return "security key"
	case c.Authenticator.Attachment == "platform":
		return "this device"
	}
	return "passkey"
}

// session returns the request's session or writes a 401.
func (h *Handler) apiSessionOr401(w http.ResponseWriter, r *http.Request) (store.Session, store.User, bool) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", "Log in first.")
		return s, u, false
	} else if err != nil {
		h.apiError(w, err)
		return s, u, false
	}
	return s, u, true
}

// apiPasskeys: GET /api/v1/passkeys.
func (h *Handler) apiPasskeys(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	keys, err := h.Passkeys.List(r.Context(), u.ID)
	if err != nil {
		h.apiError(w, err)
		return
	}
	out := []passkeyJSON{}
	for _, k := range keys {
		out = append(out, toPasskeyJSON(k))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"passkeys": out})
}

// apiPasskeyRegisterBegin: POST /api/v1/passkeys/register/begin.
func (h *Handler) apiPasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	c, err := h.Passkeys.BeginRegistration(r.Context(), s)
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	h.startCeremony(w, c)
}

// apiPasskeyRegisterFinish: POST /api/v1/passkeys/register/finish.
func (h *Handler) apiPasskeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req credentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	pk, err := h.Passkeys.FinishRegistration(r.Context(), s, h.ceremonySecret(w, r), req.Name, req.Credential)
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, toPasskeyJSON(pk))
}

// apiPasskeyRename: PATCH /api/v1/passkeys/{id} {name}.
func (h *Handler) apiPasskeyRename(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	pk, err := h.Passkeys.Rename(r.Context(), u.ID, r.PathValue("id"), req.Name)
	if err != nil {
		h.passkeyError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, toPasskeyJSON(pk))
}

// apiPasskeyDelete: DELETE /api/v1/passkeys/{id}.
func (h *Handler) apiPasskeyDelete(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	if err := h.Passkeys.Delete(r.Context(), s, r.PathValue("id")); err != nil {
		h.passkeyError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type mfaData struct {
	ReturnTo string
	Email    string
	StepUp   bool
}

// mfaPage: GET /login/mfa — the second-factor (and step-up) page.
func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) {
	target := returnTo(r.URL.Query().Get("return_to"))
	u, _, sess, err := h.secondFactorUser(r)
	if err != nil {
		http.Redirect(w, r, h.loginURL(target), http.StatusSeeOther)
		return
	}
	h.page(w, r, http.StatusOK, "mfa", "Confirm it's you", "", mfaData{ReturnTo: target, Email: u.Email, StepUp: sess != nil})
}

// passkeyRenameForm: POST /account/passkeys/{id}/rename (works without JavaScript).
func (h *Handler) passkeyRenameForm(w http.ResponseWriter, r *http.Request) {
	h.passkeyForm(w, r, func(s store.Session, f url.Values) error {
		_, err := h.Passkeys.Rename(r.Context(), s.UserID, r.PathValue("id"), f.Get("name"))
		return err
	})
}

// passkeyDeleteForm: POST /account/passkeys/{id}/delete.
func (h *Handler) passkeyDeleteForm(w http.ResponseWriter, r *http.Request) {
	h.passkeyForm(w, r, func(s store.Session, f url.Values) error {
		return h.Passkeys.Delete(r.Context(), s, r.PathValue("id"))
	})
}

func (h *Handler) passkeyForm(w http.ResponseWriter, r *http.Request, act func(store.Session, url.Values) error) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.fail(w, r, http.StatusForbidden, "Request refused", "Your form expired. Go back, reload the page and try again.", "csrf")
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	if err := act(s, f); err != nil {
		var in *input.Error
		status, msg := http.StatusBadRequest, capitalize(err.Error())+"."
		switch {
		case errors.As(err, &in):
			msg = capitalize(in.Message) + "."
		case errors.Is(err, sessions.ErrReauthenticate), errors.Is(err, passkey.ErrLastCredential),
			errors.Is(err, social.ErrLastMethod):
		case errors.Is(err, account.ErrUserNotFound):
			msg = "No such linked identity."
		default:
			// A store failure: its text is for the log, not the page.
			h.logFailure("account change", err)
			status, msg = http.StatusServiceUnavailable, "Something went wrong on our side. Try again in a moment."
		}
		h.accountWithError(w, r, status, msg)
		return
	}
	http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
}
