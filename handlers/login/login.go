// Package login serves the portal's hosted pages — log in, sign up, log out, the account
// page — and the JSON authentication API they are built on (docs/auth-api.md). Both entry
// points share one implementation per action: the page handlers parse a form, the API
// handlers parse JSON, and both call the same piece of the identity core (deps.go: login
// methods, accounts, sessions — never the store) and set the same session cookie.
//
// Every state-changing endpoint is POST-only and protected twice against cross-site requests:
// net/http's CrossOriginProtection (Sec-Fetch-Site / Origin) for all of them, plus a CSRF token
// for forms; the JSON API accepts only application/json bodies, which browsers cannot send
// cross-origin without a CORS preflight that Gatehouse never grants. Redirect targets
// (return_to) must be local paths (web.LocalPath). The package does not import Caddy.
package login

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"

	"golang.org/x/text/language"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Handler serves the login pages and API. Every field is required except Logger.
type Handler struct {
	// The identity core (deps.go).
	Sessions     Sessions
	MFA          MFA
	Channels     Channels
	Password     PasswordLogin
	EmailCode    CodeSender
	SMSCode      CodeSender
	CodeLogin    CodeLogin
	MagicLink    MagicLink
	Recovery     Recovery
	Accounts     Accounts
	Verification Verification
	Signup       Signup
	Passkeys     Passkeys
	Social       Social
	IDTokens     IDTokens
	Clients      Clients

	// Cookie carries the session secret.
	Cookie    *session.Manager
	CSRF      *web.CSRF
	Templates *ui.Templates
	Brand     ui.Brand
	// Base is the path prefix of the portal (the issuer URL's path, "" at the root).
	Base string
	// ClientIP returns the request's client IP as determined by Caddy (trusted_proxies aware).
	ClientIP func(*http.Request) string
	Logger   *slog.Logger

	origin *http.CrossOriginProtection
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	h.origin = http.NewCrossOriginProtection()
	h.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusForbidden, "Request refused", "This request came from another site. Go back, reload the page and try again.", "cross_origin")
	}))
	b := h.Base
	post := func(f http.HandlerFunc) http.Handler { return h.origin.Handler(f) }
	mux.HandleFunc("GET "+b+"/login", h.loginPage)
	mux.Handle("POST "+b+"/login", post(h.loginForm))
	mux.HandleFunc("GET "+b+"/signup", h.signupPage)
	mux.Handle("POST "+b+"/signup", post(h.signupForm))
	mux.HandleFunc("GET "+b+"/logout", h.logoutPage)
	mux.Handle("POST "+b+"/logout", post(h.logoutForm))
	mux.HandleFunc("GET "+b+"/{$}", h.accountPage)
	mux.Handle("POST "+b+"/api/v1/login/password", post(h.apiPasswordLogin))
	mux.Handle("POST "+b+"/api/v1/signup", post(h.apiSignup))
	mux.Handle("POST "+b+"/api/v1/signup/verify", post(h.apiSignupVerify))
	mux.HandleFunc("GET "+b+"/signup/verify", h.signupVerifyPage)
	mux.Handle("POST "+b+"/signup/verify", post(h.signupVerifyForm))
	mux.HandleFunc("GET "+b+"/api/v1/session", h.apiSession)
	mux.Handle("POST "+b+"/api/v1/logout", post(h.apiLogout))
	mux.HandleFunc("GET "+b+"/login/mfa", h.mfaPage)
	mux.Handle("POST "+b+"/api/v1/passkeys/signup/begin", post(h.apiPasskeySignupBegin))
	mux.Handle("POST "+b+"/api/v1/passkeys/signup/finish", post(h.apiPasskeySignupFinish))
	mux.Handle("POST "+b+"/api/v1/passkeys/login/begin", post(h.apiPasskeyLoginBegin))
	mux.Handle("POST "+b+"/api/v1/passkeys/login/finish", post(h.apiPasskeyLoginFinish))
	mux.Handle("POST "+b+"/api/v1/passkeys/mfa/begin", post(h.apiPasskeyMFABegin))
	mux.Handle("POST "+b+"/api/v1/passkeys/mfa/finish", post(h.apiPasskeyMFAFinish))
	mux.HandleFunc("GET "+b+"/api/v1/passkeys", h.apiPasskeys)
	mux.Handle("POST "+b+"/api/v1/passkeys/register/begin", post(h.apiPasskeyRegisterBegin))
	mux.Handle("POST "+b+"/api/v1/passkeys/register/finish", post(h.apiPasskeyRegisterFinish))
	mux.Handle("PATCH "+b+"/api/v1/passkeys/{id}", post(h.apiPasskeyRename))
	mux.Handle("DELETE "+b+"/api/v1/passkeys/{id}", post(h.apiPasskeyDelete))
	mux.Handle("POST "+b+"/account/passkeys/{id}/rename", post(h.passkeyRenameForm))
	mux.Handle("POST "+b+"/account/passkeys/{id}/delete", post(h.passkeyDeleteForm))
	mux.HandleFunc("GET "+b+"/login/code", h.loginCodePage)
	mux.Handle("POST "+b+"/login/code", post(h.loginCodeForm))
	mux.Handle("POST "+b+"/login/code/verify", post(h.loginCodeVerifyForm))
	mux.HandleFunc("GET "+b+"/login/magic-link", h.magicLinkPage)
	mux.Handle("POST "+b+"/login/magic-link", post(h.magicLinkForm))
	mux.HandleFunc("GET "+b+"/login/magic", h.magicPage)
	mux.Handle("POST "+b+"/login/magic", post(h.magicForm))
	mux.HandleFunc("GET "+b+"/recover", h.recoverPage)
	mux.Handle("POST "+b+"/recover", post(h.recoverForm))
	mux.Handle("POST "+b+"/recover/verify", post(h.recoverVerifyForm))
	mux.HandleFunc("GET "+b+"/account/password", h.passwordPage)
	mux.Handle("POST "+b+"/account/password", post(h.passwordForm))
	mux.Handle("POST "+b+"/account/email", post(h.emailForm))
	mux.HandleFunc("GET "+b+"/account/email/verify", h.emailVerifyPage)
	mux.Handle("POST "+b+"/account/email/verify", post(h.emailVerifyForm))
	mux.Handle("POST "+b+"/account/phone", post(h.phoneForm))
	mux.Handle("POST "+b+"/account/phone/verify", post(h.phoneVerifyForm))
	mux.Handle("POST "+b+"/api/v1/login/email-code/start", post(h.apiEmailCodeStart))
	mux.Handle("POST "+b+"/api/v1/login/sms-code/start", post(h.apiSMSCodeStart))
	mux.Handle("POST "+b+"/api/v1/login/code/verify", post(h.apiCodeVerify))
	mux.Handle("POST "+b+"/api/v1/login/magic-link/start", post(h.apiMagicLinkStart))
	mux.Handle("POST "+b+"/api/v1/login/magic-link/finish", post(h.apiMagicLinkFinish))
	mux.Handle("POST "+b+"/api/v1/recovery/start", post(h.apiRecoveryStart))
	mux.Handle("POST "+b+"/api/v1/recovery/verify", post(h.apiRecoveryVerify))
	mux.Handle("POST "+b+"/api/v1/account/password", post(h.apiChangePassword))
	mux.Handle("POST "+b+"/api/v1/account/email/start", post(h.apiEmailStart))
	mux.Handle("POST "+b+"/api/v1/account/email/verify", post(h.apiEmailVerify))
	mux.Handle("POST "+b+"/api/v1/account/phone/start", post(h.apiPhoneStart))
	mux.Handle("POST "+b+"/api/v1/account/phone/verify", post(h.apiPhoneVerify))
	mux.HandleFunc("GET "+b+"/login/social/{name}", h.socialStart)
	mux.HandleFunc("GET "+b+"/login/social/{name}/callback", h.socialCallback)
	mux.HandleFunc("POST "+b+"/login/social/{name}/callback", h.socialCallback)
	mux.Handle("POST "+b+"/account/identities/link/{name}", post(h.socialLinkForm))
	mux.Handle("POST "+b+"/account/identities/unlink", post(h.socialUnlinkForm))
	mux.HandleFunc("GET "+b+"/api/v1/account/identities", h.apiIdentities)
	mux.Handle("POST "+b+"/api/v1/account/identities/unlink", post(h.apiUnlinkIdentity))
	mux.Handle("GET "+b+"/static/", http.StripPrefix(b+"/static/", staticHandler()))
}

func staticHandler() http.Handler {
	fs := http.FileServerFS(ui.Static())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fs.ServeHTTP(w, r)
	})
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, status int, name, title, errMsg string, data any) {
	h.render(w, status, name, title, errMsg, h.CSRF.Token(w, r), data)
}

// render writes a page with the given CSRF token ("" for a page without forms that need
// one: it then sets no cookie).
func (h *Handler) render(w http.ResponseWriter, status int, name, title, errMsg, csrf string, data any) {
	web.SecurityHeaders(w.Header())
	p := ui.Page{Brand: h.Brand, Base: h.Base, Title: title, CSRF: csrf, Error: errMsg, Data: data,
		Passkeys: h.Passkeys.Enabled(), Methods: h.methods(), Social: h.socialButtons()}
	if err := h.Templates.Render(w, status, name, p); err != nil {
		h.Logger.Error("render page", "page", name, "error", err)
	}
}

type errorData struct{ Message, Code string }

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, title, msg, code string) {
	h.page(w, r, status, "error", title, "", errorData{Message: msg, Code: code})
}

// returnTo validates a return_to value: a local path, else "".
func returnTo(v string) string { return web.LocalPath(v) }

func (h *Handler) afterLogin(target string) string {
	if t := returnTo(target); t != "" {
		return t
	}
	return h.Base + "/"
}

// authResult is what a successful login or sign-up returns through the API.
type authResult struct {
	User       userJSON `json:"user"`
	RedirectTo string   `json:"redirect_to"`
	// MFARequired: the password was right, and the passkey must now confirm the login at
	// redirect_to (no session exists yet).
	MFARequired bool `json:"mfa_required,omitempty"`
}

type userJSON struct {
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

func toUserJSON(u store.User) userJSON {
	g := u.Groups
	if g == nil {
		g = []string{}
	}
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, FirstName: u.FirstName,
		MiddleName: u.MiddleName, LastName: u.LastName, Groups: g, ExternalUserID: u.ExternalUserID,
		CreatedAt: u.CreatedAt}
}

// startSession ends the browser's previous session (if any), starts a new one and sets the
// cookie: the session secret always changes at login (no fixation).
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u store.User, amr []string, newUser bool) error {
	return h.startSessionWith(w, r, u, amr, newUser, "")
}

// startSessionWith is startSession recording the passkey used.
func (h *Handler) startSessionWith(w http.ResponseWriter, r *http.Request, u store.User, amr []string, newUser bool, passkey string) error {
	if old := h.Cookie.Secret(r); old != "" {
		if err := h.Sessions.EndBySecret(r.Context(), old); err != nil {
			return err
		}
	}
	sec, _, err := h.Sessions.Start(r.Context(), u, amr, sessions.Meta{
		IP: h.ClientIP(r), UserAgent: r.UserAgent(), NewUser: newUser, Language: preferredLanguage(r), Passkey: passkey})
	if err != nil {
		return err
	}
	return h.Cookie.Issue(w, r, sec)
}

// preferredLanguage returns the browser's first Accept-Language tag (claim language), or "".
func preferredLanguage(r *http.Request) string {
	v := r.Header.Get("Accept-Language")
	if v == "" || len(v) > 256 {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(v)
	if err != nil || len(tags) == 0 || tags[0] == language.Und {
		return ""
	}
	return tags[0].String()
}

// classify maps an error of the identity core to an HTTP status, an API error code and a
// user message.
func (h *Handler) classify(w http.ResponseWriter, err error) (int, string, string, string) {
	var in *input.Error
	var locked *lockout.LockedError
	switch {
	case errors.As(err, &in):
		return http.StatusBadRequest, "invalid_input", in.Message, in.Field
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(int(locked.RetryAfter.Seconds())+1))
		return http.StatusTooManyRequests, "too_many_attempts", capitalize(locked.Error()) + ".", ""
	case errors.Is(err, pwlogin.ErrInvalidCredentials):
		return http.StatusUnauthorized, "invalid_credentials", capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrUserDisabled):
		return http.StatusForbidden, "user_disabled", capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrEmailTaken):
		return http.StatusConflict, "email_taken", capitalize(err.Error()) + ".", "email"
	case errors.Is(err, account.ErrSignupClosed):
		return http.StatusForbidden, "signup_closed", capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrInviteRequired), errors.Is(err, account.ErrInviteInvalid):
		return http.StatusForbidden, "invite_invalid", capitalize(err.Error()) + ".", "invite"
	case errors.Is(err, context.Canceled):
		// The client closed the connection (or the server is stopping): not a failure of
		// ours, and nobody reads the answer.
		h.Logger.Debug("request canceled by the client", "error", err)
		return web.StatusClientClosedRequest, "unavailable", "The request was canceled.", ""
	default:
		h.Logger.Error("login error", "error", err)
		return http.StatusServiceUnavailable, "unavailable", "Something went wrong on our side. Try again in a moment.", ""
	}
}

// logFailure logs an unexpected failure at error level, or at debug level when the request
// was canceled by its client (a client going away is not an internal error).
func (h *Handler) logFailure(msg string, err error) {
	if errors.Is(err, context.Canceled) {
		h.Logger.Debug(msg, "error", err)
		return
	}
	h.Logger.Error(msg, "error", err)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// loginURL returns the login page URL that comes back to target.
func (h *Handler) loginURL(target string) string {
	if target == "" {
		return h.Base + "/login"
	}
	return h.Base + "/login?return_to=" + url.QueryEscape(target)
}
