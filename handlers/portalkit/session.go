package portalkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Cookies of the login flows (the session cookie is Cookie's). The flow cookie holds the
// secret a code is bound to: a code works only in the browser it was requested from
// (CR-11). The ceremony cookie binds a WebAuthn challenge to the browser that asked for it
// (CR-22); the MFA cookie holds a first-factor login waiting for its second factor (no
// session exists meanwhile, CR-18).
const (
	FlowCookie     = "otp"
	FlowMaxAge     = 600
	CeremonyCookie = "webauthn"
	MFACookie      = "mfa"
)

// SetShortCookie sets (maxAge > 0) or deletes (maxAge < 0) one of the flows' cookies:
// host-only on https, HttpOnly, SameSite=Lax.
func (k *Kit) SetShortCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: web.CookieName(name, k.CSRF.Secure), Value: value, Path: "/",
		MaxAge: maxAge, HttpOnly: true, Secure: k.CSRF.Secure, SameSite: http.SameSiteLaxMode})
}

// ShortCookie returns the value of one of the flows' cookies, or "".
func (k *Kit) ShortCookie(r *http.Request, name string) string {
	c, err := r.Cookie(web.CookieName(name, k.CSRF.Secure))
	if err != nil {
		return ""
	}
	return c.Value
}

// StartSession ends the browser's previous session (if any), starts a new one and sets the
// cookie: the session secret always changes at login (no fixation). passkey names the
// passkey used ("" for none).
func (k *Kit) StartSession(w http.ResponseWriter, r *http.Request, u store.User, amr []string, newUser bool, passkey string) error {
	if old := k.Cookie.Secret(r); old != "" {
		if err := k.Sessions.EndBySecret(r.Context(), old); err != nil {
			return fmt.Errorf("end the previous session: %w", err)
		}
	}
	sec, _, err := k.Sessions.Start(r.Context(), u, amr, sessions.Meta{
		IP: k.ClientIP(r), UserAgent: r.UserAgent(), NewUser: newUser, Language: PreferredLanguage(r), Passkey: passkey})
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	return k.Cookie.Issue(w, r, sec)
}

// AfterFirstFactor completes a login by one factor that is not a passkey (password, email or
// SMS code, magic link, social login): a session, or — for a user with a passkey — a pending
// login whose second factor the MFA page collects (no session exists meanwhile). It returns
// where to go next.
func (k *Kit) AfterFirstFactor(w http.ResponseWriter, r *http.Request, u store.User, amr []string, target string) (string, error) {
	need, err := k.SecondFactor.NeedsSecondFactor(r.Context(), u)
	if err != nil {
		return "", fmt.Errorf("second factor: %w", err)
	}
	if !need && k.Settings != nil && k.Settings.Load().Effective.SecondFactorRequired(amr) {
		// The runtime settings require a second factor after this method (login.mfa), and
		// the user has none: no session.
		return "", settings.ErrSecondFactorRequired
	}
	if !need {
		if err := k.StartSession(w, r, u, amr, false, ""); err != nil {
			return "", err
		}
		return k.AfterLogin(target), nil
	}
	sec, err := k.SecondFactor.StartPending(r.Context(), u, amr)
	if err != nil {
		return "", fmt.Errorf("start pending login: %w", err)
	}
	k.SetShortCookie(w, MFACookie, sec, 300)
	next := k.Base + "/login/mfa"
	if t := ReturnTo(target); t != "" {
		next += "?return_to=" + url.QueryEscape(t)
	}
	return next, nil
}

// FinishLogin ends a code or link login through the JSON API: the flow cookie goes, then the
// session (or the MFA step) and the answer; an error is answered as a code error.
func (k *Kit) FinishLogin(w http.ResponseWriter, r *http.Request, u store.User, amr []string, target string, err error) {
	if err == nil {
		k.SetShortCookie(w, FlowCookie, "", -1)
		var next string
		next, err = k.AfterFirstFactor(w, r, u, amr, target)
		if err == nil {
			web.WriteJSON(w, http.StatusOK, AuthResult{User: ToUserJSON(u), RedirectTo: next,
				MFARequired: next != k.AfterLogin(target)})
			return
		}
	}
	k.APICodeError(w, r, err)
}

// APISession returns the request's session, or answers 401 login_required (or the error)
// itself.
func (k *Kit) APISession(w http.ResponseWriter, r *http.Request) (store.Session, store.User, bool) {
	s, u, err := k.Sessions.Get(r.Context(), k.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteAPIError(w, http.StatusUnauthorized, "login_required", k.T(r, "Log in first."))
		return s, u, false
	} else if err != nil {
		k.APIError(w, r, err)
		return s, u, false
	}
	return s, u, true
}

// StartCeremony sets the ceremony cookie and answers the WebAuthn options.
func (k *Kit) StartCeremony(w http.ResponseWriter, c *passkey.Ceremony) {
	k.SetShortCookie(w, CeremonyCookie, c.Secret, 300)
	web.WriteJSON(w, http.StatusOK, c.Options)
}

// CeremonySecret returns the ceremony cookie's secret and deletes the cookie (a challenge
// is answered once).
func (k *Kit) CeremonySecret(w http.ResponseWriter, r *http.Request) string {
	sec := k.ShortCookie(r, CeremonyCookie)
	k.SetShortCookie(w, CeremonyCookie, "", -1)
	return sec
}

// CredentialRequest is the body of a passkey ceremony's finish call (login, second factor,
// sign-up, registration); each reads the fields it needs, and all accept the same fields.
type CredentialRequest struct {
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
	ReturnTo   string          `json:"return_to"`
}

// AuthResult is what a successful login or sign-up returns through the API.
type AuthResult struct {
	User       UserJSON `json:"user"`
	RedirectTo string   `json:"redirect_to"`
	// MFARequired: the first factor was right, and a second factor (a passkey, an
	// authenticator code or a recovery code) must now confirm the login at redirect_to (no
	// session exists yet).
	MFARequired bool `json:"mfa_required,omitempty"`
}

// UserJSON is a user as the JSON API shows it.
type UserJSON struct {
	ID             string    `json:"id"`
	Email          string    `json:"email"`
	EmailVerified  bool      `json:"email_verified"`
	FirstName      string    `json:"fname,omitempty"`
	MiddleName     string    `json:"mname,omitempty"`
	LastName       string    `json:"lname,omitempty"`
	Groups         []string  `json:"groups"`
	ExternalUserID string    `json:"external_user_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// ToUserJSON converts a user record.
func ToUserJSON(u store.User) UserJSON {
	g := u.Groups
	if g == nil {
		g = []string{}
	}
	return UserJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, FirstName: u.FirstName,
		MiddleName: u.MiddleName, LastName: u.LastName, Groups: g, ExternalUserID: u.ExternalUserID,
		CreatedAt: u.CreatedAt}
}
