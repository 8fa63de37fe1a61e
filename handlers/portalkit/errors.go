package portalkit

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Classify maps an error of the identity core to an HTTP status, an API error code, a user
// message and the input field at fault (Retry-After is set on w when it applies). The message
// is an English catalog text (ErrorMessages), translated where it is shown, or already in
// the request's language when it carries a number.
func (k *Kit) Classify(w http.ResponseWriter, r *http.Request, err error) (status int, code, msg, field string) {
	var in *input.Error
	var locked *lockout.LockedError
	switch {
	case errors.As(err, &in):
		return http.StatusBadRequest, "invalid_input", in.Message, in.Field
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(int(locked.RetryAfter.Seconds())+1))
		return http.StatusTooManyRequests, "too_many_attempts", k.T(r, "Too many failed attempts; try again in %d minutes.", retryMinutes(locked.RetryAfter)), ""
	case errors.Is(err, pwlogin.ErrInvalidCredentials):
		return http.StatusUnauthorized, "invalid_credentials", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrUserDisabled):
		return http.StatusForbidden, "user_disabled", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, settings.ErrSecondFactorRequired):
		return http.StatusForbidden, "second_factor_required", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrEmailTaken):
		return http.StatusConflict, "email_taken", Capitalize(err.Error()) + ".", "email"
	case errors.Is(err, account.ErrSignupClosed):
		return http.StatusForbidden, "signup_closed", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrInviteRequired), errors.Is(err, account.ErrInviteInvalid):
		return http.StatusForbidden, "invite_invalid", Capitalize(err.Error()) + ".", "invite"
	case errors.Is(err, context.Canceled):
		// The client closed the connection (or the server is stopping): not a failure of
		// ours, and nobody reads the answer.
		k.Logger.Debug("request canceled by the client", "error", err)
		return web.StatusClientClosedRequest, "unavailable", "The request was canceled.", ""
	default:
		k.Logger.Error("login error", "error", err)
		if store.Unreachable(err) {
			// The database is down or cut off: temporary, ask to retry (RFC 9110 §15.6.4).
			w.Header().Set("Retry-After", "5")
		}
		return http.StatusServiceUnavailable, "unavailable", "Something went wrong on our side. Try again in a moment.", ""
	}
}

// CodeError maps the errors of the code and link methods; other errors go to Classify.
func (k *Kit) CodeError(w http.ResponseWriter, r *http.Request, err error) (status int, code, msg, field string) {
	var limit *otp.SendLimitError
	switch {
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter.Seconds())+1))
		return http.StatusTooManyRequests, "too_many_requests", k.T(r, "Too many codes requested; try again in %d minutes.", retryMinutes(limit.RetryAfter)), ""
	case errors.Is(err, otp.ErrCodeInvalid):
		return http.StatusUnauthorized, "invalid_code", Capitalize(err.Error()) + ".", "code"
	case errors.Is(err, otp.ErrCodeExpired), errors.Is(err, otp.ErrCodeAttempts):
		return http.StatusBadRequest, "code_expired", Capitalize(err.Error()) + ".", "code"
	case errors.Is(err, magiclink.ErrLinkExpired):
		return http.StatusBadRequest, "link_expired", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, otp.ErrMethodDisabled):
		return http.StatusNotFound, "method_disabled", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrPhoneTaken):
		return http.StatusConflict, "phone_taken", Capitalize(err.Error()) + ".", "phone_number"
	case errors.Is(err, otp.ErrPhoneNotAllowed):
		return http.StatusBadRequest, "invalid_input", Capitalize(err.Error()) + ".", "phone_number"
	case errors.Is(err, sessions.ErrReauthenticate):
		return http.StatusForbidden, "reauthenticate", Capitalize(err.Error()) + ".", ""
	}
	return k.Classify(w, r, err)
}

// retryMinutes is a Retry-After in whole minutes, at least 1.
func retryMinutes(d time.Duration) int { return max(int(d.Round(time.Minute)/time.Minute), 1) }

// APIError answers err (Classify) as a JSON API error, its message in the request's
// language (the pages' scripts show it).
func (k *Kit) APIError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, field := k.Classify(w, r, err)
	web.WriteJSON(w, status, web.APIError{Error: code, Message: i18n.Text(k.Lang(r), msg), Field: field})
}

// APICodeError answers err (CodeError) as a JSON API error, its message in the request's
// language.
func (k *Kit) APICodeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, field := k.CodeError(w, r, err)
	web.WriteJSON(w, status, web.APIError{Error: code, Message: i18n.Text(k.Lang(r), msg), Field: field})
}

// PasskeyError answers the errors of the passkey ceremonies as JSON API errors; others go
// to APICodeError (a passkey sign-up that sends a code can hit the send limits).
func (k *Kit) PasskeyError(w http.ResponseWriter, r *http.Request, err error) {
	lang := k.Lang(r)
	switch {
	case errors.Is(err, passkey.ErrPasskeyFailed), errors.Is(err, passkey.ErrClonedAuthenticator):
		web.WriteAPIError(w, http.StatusUnauthorized, "passkey_failed", i18n.Text(lang, Capitalize(err.Error())+"."))
	case errors.Is(err, passkey.ErrPasskeyMalformed):
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_credential", i18n.Text(lang, Capitalize(err.Error())+"."))
	case errors.Is(err, passkey.ErrCeremonyExpired):
		web.WriteAPIError(w, http.StatusBadRequest, "ceremony_expired", i18n.Text(lang, Capitalize(err.Error())+"."))
	case errors.Is(err, sessions.ErrReauthenticate):
		web.WriteAPIError(w, http.StatusForbidden, "reauthenticate", i18n.Text(lang, Capitalize(err.Error())+"."))
	case errors.Is(err, passkey.ErrPasskeysDisabled):
		web.WriteAPIError(w, http.StatusNotImplemented, "passkeys_unavailable", i18n.Text(lang, Capitalize(err.Error())+"."))
	case errors.Is(err, passkey.ErrLastCredential), errors.Is(err, passkey.ErrNoPasskey):
		web.WriteAPIError(w, http.StatusConflict, "last_credential", i18n.Text(lang, Capitalize(err.Error())+"."))
	default:
		k.APICodeError(w, r, err)
	}
}

// LogFailure logs an unexpected failure at error level, or at debug level when the request
// was canceled by its client (a client going away is not an internal error).
func (k *Kit) LogFailure(msg string, err error) {
	if errors.Is(err, context.Canceled) {
		k.Logger.Debug(msg, "error", err)
		return
	}
	k.Logger.Error(msg, "error", err)
}
