package account

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The authenticator app and recovery codes on the account page: set up the app (a QR code
// and the key, then a first code; POST /account/totp, /account/totp/confirm), remove it
// (POST /account/totp/remove), make a new set of recovery codes (POST
// /account/recovery-codes), each also as JSON API under /api/v1/account/. Every change
// needs a fresh login (CR-19), which the identity core checks. Recovery codes are shown
// once, on the page that answers the change that made them.

// TOTP is the authenticator app of a signed-in user (*totp.Method).
type TOTP interface {
	BeginEnrol(ctx context.Context, s store.Session, u store.User) (totp.Enrolment, error)
	Pending(ctx context.Context, u store.User, token string) (totp.Enrolment, error)
	ConfirmEnrol(ctx context.Context, s store.Session, u store.User, token, code string) ([]string, error)
	Remove(ctx context.Context, s store.Session) error
}

// RecoveryCodes make a new set of recovery codes (*recoverycode.Codes).
type RecoveryCodes interface {
	Regenerate(ctx context.Context, s store.Session) ([]string, error)
}

// Factors tell which second factors a user has (*mfa.Rules).
type Factors interface {
	Factors(ctx context.Context, userID string) (mfa.Factors, error)
}

func (h *Handler) mountSecondFactors(mux *http.ServeMux) {
	h.HandleChange(mux, "POST", "/account/totp", h.totpBeginForm)
	h.HandleChange(mux, "POST", "/account/totp/confirm", h.totpConfirmForm)
	h.HandleChange(mux, "POST", "/account/totp/remove", h.totpRemoveForm)
	h.HandleChange(mux, "POST", "/account/recovery-codes", h.recoveryForm)

	h.Handle(mux, "GET", "/api/v1/account/mfa", h.apiFactors)
	h.HandleChange(mux, "POST", "/api/v1/account/totp/begin", h.apiTOTPBegin)
	h.HandleChange(mux, "POST", "/api/v1/account/totp/confirm", h.apiTOTPConfirm)
	h.HandleChange(mux, "DELETE", "/api/v1/account/totp", h.apiTOTPRemove)
	h.HandleChange(mux, "POST", "/api/v1/account/recovery-codes", h.apiRecoveryCodes)
}

// totpSetupData is the data of the setup page (template totp_setup).
type totpSetupData struct {
	Token string
	Key   string
	URI   string
	// QR is the QR code as a data: URI (the CSP allows img-src data:).
	QR template.URL
}

func setupData(e totp.Enrolment) totpSetupData {
	return totpSetupData{Token: e.Token, Key: e.Key, URI: e.URI, QR: qrURL(e.QR)}
}

// qrURL is the PNG as a data: URI; the image is ours, so the URL is safe to mark as such.
func qrURL(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)) // #nosec G203 -- server-made PNG
}

// recoveryData is the data of the page that shows new recovery codes once.
type recoveryData struct {
	Codes []string
	// TOTPAdded: the codes come with a newly added authenticator app.
	TOTPAdded bool
}

// sessionForm parses a change form and reads the session, or answers itself.
func (h *Handler) sessionForm(w http.ResponseWriter, r *http.Request) (url.Values, store.Session, store.User, bool) {
	f, ok := h.Form(w, r)
	if !ok {
		return nil, store.Session{}, store.User{}, false
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return nil, s, u, false
	}
	return f, s, u, true
}

// POST /account/totp: start the setup and show the QR code and key.
func (h *Handler) totpBeginForm(w http.ResponseWriter, r *http.Request) {
	_, s, u, ok := h.sessionForm(w, r)
	if !ok {
		return
	}
	e, err := h.TOTP.BeginEnrol(r.Context(), s, u)
	if err != nil {
		h.secondFactorFail(w, r, err)
		return
	}
	h.Page(w, r, http.StatusOK, "totp_setup", "Set up an authenticator app", "", setupData(e))
}

// POST /account/totp/confirm {token, code}: activate the app with its first code.
func (h *Handler) totpConfirmForm(w http.ResponseWriter, r *http.Request) {
	f, s, u, ok := h.sessionForm(w, r)
	if !ok {
		return
	}
	token := f.Get("token")
	codes, err := h.TOTP.ConfirmEnrol(r.Context(), s, u, token, f.Get("code"))
	if err != nil {
		if e, perr := h.TOTP.Pending(r.Context(), u, token); perr == nil && !errors.Is(err, sessions.ErrReauthenticate) {
			status, _, msg, _ := h.SecondFactorError(w, r, err)
			h.Page(w, r, status, "totp_setup", "Set up an authenticator app", msg, setupData(e))
			return
		}
		h.secondFactorFail(w, r, err)
		return
	}
	if codes == nil {
		http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
		return
	}
	h.Page(w, r, http.StatusOK, "recovery_codes", "Your recovery codes", "", recoveryData{Codes: codes, TOTPAdded: true})
}

// POST /account/totp/remove: remove the app.
func (h *Handler) totpRemoveForm(w http.ResponseWriter, r *http.Request) {
	_, s, _, ok := h.sessionForm(w, r)
	if !ok {
		return
	}
	if err := h.TOTP.Remove(r.Context(), s); err != nil {
		h.secondFactorFail(w, r, err)
		return
	}
	http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
}

// POST /account/recovery-codes: a new set replaces the old one.
func (h *Handler) recoveryForm(w http.ResponseWriter, r *http.Request) {
	_, s, _, ok := h.sessionForm(w, r)
	if !ok {
		return
	}
	codes, err := h.RecoveryCodes.Regenerate(r.Context(), s)
	if err != nil {
		h.secondFactorFail(w, r, err)
		return
	}
	h.Page(w, r, http.StatusOK, "recovery_codes", "Your recovery codes", "", recoveryData{Codes: codes})
}

// secondFactorFail shows the account page with the error's message.
func (h *Handler) secondFactorFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, _ := h.SecondFactorError(w, r, err)
	if code == "unavailable" {
		h.LogFailure("account second factor", err)
	}
	h.RenderError(w, r, status, msg)
}

// factorsJSON is GET /api/v1/account/mfa's answer.
type factorsJSON struct {
	Passkeys          bool `json:"passkeys"`
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// apiFactors: GET /api/v1/account/mfa.
func (h *Handler) apiFactors(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	f, err := h.Factors.Factors(r.Context(), u.ID)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, factorsJSON{Passkeys: f.Passkeys, TOTP: f.TOTP, RecoveryCodesLeft: f.RecoveryCodes})
}

// apiTOTPBegin: POST /api/v1/account/totp/begin → {token, key, uri, qr}.
func (h *Handler) apiTOTPBegin(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	e, err := h.TOTP.BeginEnrol(r.Context(), s, u)
	if err != nil {
		h.APISecondFactorError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"token": e.Token, "key": e.Key, "uri": e.URI, "qr": string(qrURL(e.QR))})
}

// apiTOTPConfirm: POST /api/v1/account/totp/confirm {token, code} → {recovery_codes}.
func (h *Handler) apiTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req struct {
		Token string `json:"token"`
		Code  string `json:"code"`
	}
	if !h.Decode(w, r, &req) {
		return
	}
	codes, err := h.TOTP.ConfirmEnrol(r.Context(), s, u, req.Token, req.Code)
	if err != nil {
		h.APISecondFactorError(w, r, err)
		return
	}
	if codes == nil {
		codes = []string{}
	}
	web.WriteJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}

// apiTOTPRemove: DELETE /api/v1/account/totp.
func (h *Handler) apiTOTPRemove(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	if err := h.TOTP.Remove(r.Context(), s); err != nil {
		h.APISecondFactorError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiRecoveryCodes: POST /api/v1/account/recovery-codes → {recovery_codes}.
func (h *Handler) apiRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	codes, err := h.RecoveryCodes.Regenerate(r.Context(), s)
	if err != nil {
		h.APISecondFactorError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}
