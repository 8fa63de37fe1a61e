package portalkit

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// MFAData is the data of the second-factor (and step-up) page, template "mfa": the
// passkey handler renders it, and the code handler again with an error.
type MFAData struct {
	ReturnTo string
	Email    string
	// StepUp: a signed-in user confirms a stronger login (no pending first factor).
	StepUp bool
	// Factors are the user's second factors: the page offers each.
	Factors mfa.Factors
}

// SecondFactorError maps the errors of the authenticator app and the recovery codes; other
// errors go to CodeError.
func (k *Kit) SecondFactorError(w http.ResponseWriter, r *http.Request, err error) (status int, code, msg, field string) {
	switch {
	case errors.Is(err, totp.ErrInvalidCode), errors.Is(err, recoverycode.ErrInvalidCode):
		return http.StatusUnauthorized, "invalid_code", Capitalize(err.Error()) + ".", "code"
	case errors.Is(err, totp.ErrCodeUsed):
		return http.StatusUnauthorized, "code_used", Capitalize(err.Error()) + ".", "code"
	case errors.Is(err, totp.ErrEnrolmentExpired):
		return http.StatusBadRequest, "enrolment_expired", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, totp.ErrNotEnrolled), errors.Is(err, totp.ErrAlreadyEnrolled), errors.Is(err, recoverycode.ErrNoSecondFactor):
		return http.StatusConflict, "second_factor_state", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, sessions.ErrReauthenticate):
		return http.StatusForbidden, "reauthenticate", Capitalize(err.Error()) + ".", ""
	case errors.Is(err, passkey.ErrCeremonyExpired):
		return http.StatusBadRequest, "login_expired", "Your login expired. Log in again.", ""
	}
	return k.CodeError(w, r, err)
}

// APISecondFactorError answers err (SecondFactorError) as a JSON API error, its message
// in the request's language.
func (k *Kit) APISecondFactorError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, field := k.SecondFactorError(w, r, err)
	web.WriteJSON(w, status, web.APIError{Error: code, Message: i18n.Text(k.Lang(r), msg), Field: field})
}
