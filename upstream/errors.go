package upstream

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// The failures of the exchange with an upstream provider fall in two classes, which the
// portal answers and logs differently so that monitoring sees outages, not attacks:
//
//   - a refused answer (ErrRejected, *ProviderError; 400-class): a callback whose iss is
//     wrong or missing (RFC 9207), a code the token endpoint refuses (invalid_grant:
//     altered, replayed or expired), an ID token that does not verify, an error the
//     provider sent back through the browser. Inside this package such a failure matches
//     IsRefusal; login/social logs it as event social_login_refused and answers ErrRejected.
//   - an outage (*UnavailableError; 502/503): the provider does not answer, times out,
//     answers with a server error, or its discovery document or keys are broken. Logged as
//     event social_provider_unavailable.
//
// Both match ErrFailed.

// ErrFailed matches every failed exchange with a provider: ErrRejected (its answer refused)
// and *UnavailableError (an outage).
var ErrFailed = errors.New("the login through the provider could not be completed; try again")

// ErrUnavailable is matched by every *UnavailableError.
var ErrUnavailable = errors.New("the login provider cannot be reached at the moment; try again in a minute, or log in another way")

// ErrRejected: the provider's answer was refused — forged, altered, replayed, from another
// provider, or refused by the provider's token endpoint. It matches ErrFailed.
var ErrRejected error = rejected{}

type rejected struct{}

func (rejected) Error() string {
	return "the answer from the provider was not accepted (it was altered, replayed or not from the provider, or the provider refused it); start the login again"
}

func (rejected) Is(target error) bool { return target == ErrFailed }

// UnavailableError: the upstream provider cannot be used now (an outage). It matches
// ErrUnavailable and ErrFailed.
type UnavailableError struct {
	// Provider is the provider's label.
	Provider string
	// RetryAfter, when not zero, is how long logins through the provider are answered at
	// once without asking it again (its discovery failed: back-off).
	RetryAfter time.Duration
	// Callback: the provider failed while the callback redeemed its answer (token
	// endpoint, keys, user API), not at the start.
	Callback bool
	// Err is the cause, for logs.
	Err error
}

func (e *UnavailableError) Error() string {
	return e.Provider + " cannot be reached at the moment; try again in a minute, or log in another way"
}

// Is matches ErrUnavailable and ErrFailed.
func (e *UnavailableError) Is(target error) bool {
	return target == ErrUnavailable || target == ErrFailed
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// ProviderError: the provider answered the authorization request with an error other than
// access_denied (RFC 6749 §4.1.2.1), such as server_error. The answer comes through the
// browser, unauthenticated, so it is a refused login, not an outage. It matches ErrRejected
// and ErrFailed.
type ProviderError struct {
	Provider string
	// Code is the error code, reduced to a safe form (see SafeErrorCode).
	Code string
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("%s did not complete the login (it answered %s); start again, or log in another way", e.Provider, e.Code)
}

// Is matches ErrRejected and ErrFailed.
func (e *ProviderError) Is(target error) bool {
	return target == ErrRejected || target == ErrFailed
}

// refusal marks an answer refused as forged, altered or refused by the provider, as opposed
// to an outage.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refused(format string, args ...any) error { return &refusal{fmt.Errorf(format, args...)} }

// IsRefusal tells whether err (from CheckIss or Exchange) refuses the provider's answer —
// forged, altered, replayed, or refused by the provider — rather than reporting an outage.
func IsRefusal(err error) bool {
	var rf *refusal
	return errors.As(err, &rf)
}

// SafeErrorCode reduces an OAuth error code from an upstream answer to something safe to
// show and log: the code if it is short and of the usual characters, else "an invalid
// error".
func SafeErrorCode(code string) string {
	if code == "" || len(code) > 64 {
		return "an invalid error"
	}
	for _, c := range code {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "an invalid error"
		}
	}
	return code
}

// tokenError classifies a failed token request. The response body is never kept: a
// provider may echo the code in it.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("token request: %w", err) // network, timeout, unreadable answer
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	e := fmt.Errorf("token endpoint answered %d %s", status, SafeErrorCode(re.ErrorCode))
	// Our own credentials or request refused is a misconfiguration (GitHub names its own
	// codes), and a server error an outage; anything else (invalid_grant above all, GitHub's
	// bad_verification_code) refuses the code the callback brought.
	outage := []string{"", "invalid_client", "unauthorized_client", "unsupported_grant_type", "server_error",
		"temporarily_unavailable", "incorrect_client_credentials", "redirect_uri_mismatch"}
	if status >= 500 || slices.Contains(outage, re.ErrorCode) {
		return e
	}
	return &refusal{e}
}
