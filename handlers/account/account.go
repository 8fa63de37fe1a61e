// Package account serves the signed-in user's account: the account page (GET /), the
// password page (GET and POST /account/password, where recovery leads too), verifying an
// email address or phone number (/account/email, /account/phone and their verify steps),
// managing passkeys (/account/passkeys/{id}/..., /api/v1/passkeys...) and linked upstream
// identities (/account/identities/unlink, /api/v1/account/identities...) and connected apps
// (/account/apps/disconnect, /api/v1/account/apps...: consents.go) and the user's sessions
// (/account/sessions/..., /api/v1/account/sessions...: sessions.go), the authenticator app and
// recovery codes (mfa.go), app passwords and personal access tokens
// (/account/credentials..., /api/v1/account/credentials...: credentials.go), the profile
// fields the operator allows and the account's own deletion (/account/profile,
// /account/delete, /api/v1/account/profile, /api/v1/account: profile.go), each as a page
// form and as JSON API. Without a session a page leads to the login page and the API
// answers 401 login_required. Sensitive changes need a fresh login (CR-19); the identity
// core applies that rule. Linking a new identity starts a social login
// (handlers/login/social).
package account

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Accounts change what a signed-in user may change of their account (*account.Accounts).
type Accounts interface {
	ChangePassword(ctx context.Context, s store.Session, password string) error
	HasPassword(ctx context.Context, userID string) (bool, error)
	UpdateOwnProfile(ctx context.Context, userID string, fields map[string]json.RawMessage, allowed []string) (store.User, error)
	Delete(ctx context.Context, userID string) error
}

// Verification proves addresses and phone numbers (*account.Verification).
type Verification interface {
	StartEmail(ctx context.Context, s store.Session, u store.User, email, lang, clientIP string) (string, error)
	FinishEmail(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error)
	StartPhone(ctx context.Context, s store.Session, u store.User, phone, lang, clientIP string) (string, error)
	FinishPhone(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error)
}

// Passkeys manage a signed-in user's passkeys (*passkey.Method).
type Passkeys interface {
	BeginRegistration(ctx context.Context, s store.Session) (*passkey.Ceremony, error)
	FinishRegistration(ctx context.Context, s store.Session, secret, name string, response []byte) (store.Passkey, error)
	List(ctx context.Context, userID string) ([]store.Passkey, error)
	Rename(ctx context.Context, userID, id, name string) (store.Passkey, error)
	Delete(ctx context.Context, s store.Session, id string) error
}

// Identities are a user's linked upstream identities (*social.Method).
type Identities interface {
	Unlink(ctx context.Context, s store.Session, provider, subject string) error
	Identities(ctx context.Context, userID string) ([]store.Identity, error)
}

// Handler serves the account pages and API. Every field but PasskeysNeedDomain is required.
type Handler struct {
	*portalkit.Kit
	Accounts     Accounts
	Verification Verification
	Passkeys     Passkeys
	Identities   Identities
	// Apps are the connected apps (consents.go).
	Apps ConnectedApps
	// UserSessions are the user's sessions (sessions.go).
	UserSessions UserSessions
	// TOTP, RecoveryCodes and Factors are the second factors beside passkeys (mfa.go).
	TOTP          TOTP
	RecoveryCodes RecoveryCodes
	Factors       Factors
	// PasskeysNeedDomain: passkeys are on in the configuration but cannot work because the
	// issuer's host is an IP address (the page says so); false when they are simply off.
	PasskeysNeedDomain bool
	// AppCredentials are the user's app passwords and access tokens (credentials.go).
	AppCredentials AppCredentials
	// EditableFields are the profile fields the user may change (option
	// account.editable_fields; none when empty); AllowDelete lets the user delete the
	// account (option account.allow_delete): profile.go.
	EditableFields []string
	AllowDelete    bool
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/{$}", h.page)
	h.Handle(mux, "GET", "/account/password", h.passwordPage)
	h.HandleChange(mux, "POST", "/account/password", h.passwordForm)
	h.HandleChange(mux, "POST", "/api/v1/account/password", h.apiChangePassword)

	h.HandleChange(mux, "POST", "/account/email", func(w http.ResponseWriter, r *http.Request) { h.verifyStartForm(w, r, "email") })
	h.Handle(mux, "GET", "/account/email/verify", h.emailVerifyPage)
	h.HandleChange(mux, "POST", "/account/email/verify", func(w http.ResponseWriter, r *http.Request) { h.verifyFinishForm(w, r, "email") })
	h.HandleChange(mux, "POST", "/account/phone", func(w http.ResponseWriter, r *http.Request) { h.verifyStartForm(w, r, "phone") })
	h.HandleChange(mux, "POST", "/account/phone/verify", func(w http.ResponseWriter, r *http.Request) { h.verifyFinishForm(w, r, "phone") })
	h.HandleChange(mux, "POST", "/api/v1/account/email/start", h.apiEmailStart)
	h.HandleChange(mux, "POST", "/api/v1/account/email/verify", h.apiEmailVerify)
	h.HandleChange(mux, "POST", "/api/v1/account/phone/start", h.apiPhoneStart)
	h.HandleChange(mux, "POST", "/api/v1/account/phone/verify", h.apiPhoneVerify)

	h.Handle(mux, "GET", "/api/v1/passkeys", h.apiPasskeys)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/register/begin", h.apiPasskeyRegisterBegin)
	h.HandleChange(mux, "POST", "/api/v1/passkeys/register/finish", h.apiPasskeyRegisterFinish)
	h.HandleChange(mux, "PATCH", "/api/v1/passkeys/{id}", h.apiPasskeyRename)
	h.HandleChange(mux, "DELETE", "/api/v1/passkeys/{id}", h.apiPasskeyDelete)
	h.HandleChange(mux, "POST", "/account/passkeys/{id}/rename", h.passkeyRenameForm)
	h.HandleChange(mux, "POST", "/account/passkeys/{id}/delete", h.passkeyDeleteForm)

	h.Handle(mux, "GET", "/api/v1/account/identities", h.apiIdentities)
	h.HandleChange(mux, "POST", "/api/v1/account/identities/unlink", h.apiUnlinkIdentity)
	h.HandleChange(mux, "POST", "/account/identities/unlink", h.unlinkForm)

	h.Handle(mux, "GET", "/api/v1/account/apps", h.apiApps)
	h.HandleChange(mux, "DELETE", "/api/v1/account/apps/{client}", h.apiDisconnect)
	h.HandleChange(mux, "POST", "/account/apps/disconnect", h.disconnectForm)

	h.Handle(mux, "GET", "/api/v1/account/sessions", h.apiSessions)
	h.HandleChange(mux, "DELETE", "/api/v1/account/sessions/{id}", h.apiEndSession)
	h.HandleChange(mux, "POST", "/account/sessions/end", h.endSessionForm)
	h.HandleChange(mux, "POST", "/account/sessions/end-others", h.endOthersForm)
	h.mountSecondFactors(mux)
	h.mountCredentials(mux)
	h.mountProfile(mux)
}

type pageData struct {
	User     store.User
	Name     string
	AuthTime string
	Passkeys []passkeyJSON
	// Fresh tells whether the login is recent enough to change passkeys.
	Fresh bool
	// Identities are the linked upstream accounts; Linkable the providers not linked yet.
	Identities []identityJSON
	Linkable   []ui.SocialButton
	// Apps are the connected apps (consents.go).
	Apps []appJSON
	// Sessions are the user's sessions, this one first (sessions.go).
	Sessions []sessionJSON
	// MFA are the second factors (authenticator app, recovery codes left).
	MFA mfa.Factors
	// HasPassword: the account has a password ("Set a new password"; else "Add a password").
	HasPassword bool
	// Linked is the label of the provider just linked (the confirmation), or "".
	Linked string
	// PasskeysNeedDomain: see Handler.
	PasskeysNeedDomain bool
	// Credentials are the app passwords and access tokens; NewCredential the one just
	// created, with its secret (shown once).
	Credentials   []appcred.View
	NewCredential *NewCredential
	// Profile are the fields the user may edit; AllowDelete shows "Delete my account".
	Profile     []profileField
	AllowDelete bool
}

// GET /: the account page.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	h.RenderError(w, r, http.StatusOK, "")
}

// RenderError renders the account page with an error message above it (msg "" for none),
// or leads to the login page without a session.
func (h *Handler) RenderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.renderAccount(w, r, status, msg, nil)
}

// renderAccount renders the account page, with a credential just created if nc is set.
func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, msg string, nc *NewCredential) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		http.Redirect(w, r, h.LoginURL(""), http.StatusSeeOther)
		return
	} else if err != nil {
		h.LogFailure("account page: read session", err)
		h.Fail(w, r, http.StatusServiceUnavailable, "Unavailable", "Something went wrong on our side. Try again in a moment.", "unavailable")
		return
	}
	keys, err := h.Passkeys.List(r.Context(), u.ID)
	if err != nil {
		h.LogFailure("account page: passkeys", err)
	}
	var pks []passkeyJSON
	for _, k := range keys {
		pks = append(pks, toPasskeyJSON(k))
	}
	var idents []identityJSON
	linked := map[string]bool{}
	if ids, err := h.Identities.Identities(r.Context(), u.ID); err != nil {
		h.LogFailure("account page: identities", err)
	} else {
		for _, i := range ids {
			j := toIdentityJSON(i)
			j.Label = h.providerLabel(i.Provider)
			idents = append(idents, j)
			linked[i.Provider] = true
		}
	}
	var linkable []ui.SocialButton
	for _, b := range h.SocialButtons() {
		if !linked[b.Name] {
			linkable = append(linkable, b)
		}
	}
	factors, err := h.Factors.Factors(r.Context(), u.ID)
	if err != nil {
		h.LogFailure("account page: second factors", err)
	}
	hasPassword, err := h.Accounts.HasPassword(r.Context(), u.ID)
	if err != nil {
		h.LogFailure("account page: password", err)
		hasPassword = true // the usual wording
	}
	// The confirmation of a link that just finished (the social handler's redirect).
	justLinked := ""
	if n := r.URL.Query().Get("linked"); n != "" && linked[n] {
		justLinked = h.providerLabel(n)
	}
	name := u.FirstName
	if u.LastName != "" {
		name += " " + u.LastName
	}
	creds, err := h.credentialList(r.Context(), u.ID)
	if err != nil {
		h.LogFailure("account page: app credentials", err)
	}
	h.Page(w, r, status, "account", "Your account", msg, pageData{User: u, Name: name,
		AuthTime: s.AuthTime.UTC().Format("2006-01-02 15:04 MST"), Passkeys: pks, Identities: idents, Linkable: linkable,
		Fresh: h.Sessions.Fresh(s), Apps: h.connectedApps(r.Context(), u.ID),
		Sessions: h.userSessions(r.Context(), u.ID, s.ID), MFA: factors,
		HasPassword: hasPassword, Linked: justLinked, PasskeysNeedDomain: h.PasskeysNeedDomain,
		Credentials: creds, NewCredential: nc, Profile: h.profileFields(u), AllowDelete: h.AllowDelete})
}

// change runs a change form of the account page (CSRF token, session) and goes back to the
// page, with the error message above it if act failed.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, act func(store.Session, url.Values) error) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	if err := act(s, f); err != nil {
		h.changeError(w, r, err)
		return
	}
	http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
}

// changeError renders the account page with the message of a failed change.
func (h *Handler) changeError(w http.ResponseWriter, r *http.Request, err error) {
	var in *input.Error
	status, msg := http.StatusBadRequest, portalkit.Capitalize(err.Error())+"."
	switch {
	case errors.As(err, &in):
		msg = portalkit.Capitalize(in.Message) + "."
	case errors.Is(err, sessions.ErrReauthenticate), errors.Is(err, passkey.ErrLastCredential),
		errors.Is(err, social.ErrLastMethod):
	case errors.Is(err, account.ErrUserNotFound):
		msg = "No such linked identity."
	case errors.Is(err, appcred.ErrReauthenticate), errors.Is(err, appcred.ErrSecondFactorRequired), errors.Is(err, errNoCredential):
	default:
		// A store failure: its text is for the log, not the page.
		h.LogFailure("account change", err)
		status, msg = http.StatusServiceUnavailable, "Something went wrong on our side. Try again in a moment."
	}
	h.RenderError(w, r, status, msg)
}
