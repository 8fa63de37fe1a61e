package idp

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The failures of the exchange with an upstream provider fall in two classes, which the
// portal answers and logs differently so that monitoring sees outages, not attacks:
//
//   - a refused answer (ErrSocialRejected, *SocialProviderError; 400-class): a callback
//     whose iss is wrong or missing (RFC 9207), a code the token endpoint refuses
//     (invalid_grant: altered, replayed or expired), an ID token that does not verify, an
//     error the provider sent back through the browser. Logged as event
//     social_login_refused.
//   - an outage (*SocialUnavailableError; 502/503): the provider does not answer, times out,
//     answers with a server error, or its discovery document or keys are broken. Logged as
//     event social_provider_unavailable.
//
// Both match ErrSocialFailed.

// ErrSocialUnavailable is matched by every *SocialUnavailableError.
var ErrSocialUnavailable = errors.New("the login provider cannot be reached at the moment; try again in a minute, or log in another way")

// ErrSocialRejected: the provider's answer was refused — forged, altered, replayed, from
// another provider, or refused by the provider's token endpoint. It matches ErrSocialFailed.
var ErrSocialRejected error = socialRejected{}

type socialRejected struct{}

func (socialRejected) Error() string {
	return "the answer from the provider was not accepted (it was altered, replayed or not from the provider, or the provider refused it); start the login again"
}

func (socialRejected) Is(target error) bool { return target == ErrSocialFailed }

// SocialUnavailableError: the upstream provider cannot be used now (an outage). It matches
// ErrSocialUnavailable and ErrSocialFailed.
type SocialUnavailableError struct {
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

func (e *SocialUnavailableError) Error() string {
	return e.Provider + " cannot be reached at the moment; try again in a minute, or log in another way"
}

func (e *SocialUnavailableError) Is(target error) bool {
	return target == ErrSocialUnavailable || target == ErrSocialFailed
}

func (e *SocialUnavailableError) Unwrap() error { return e.Err }

// SocialProviderError: the provider answered the authorization request with an error
// other than access_denied (RFC 6749 §4.1.2.1), such as server_error. The answer comes
// through the browser, unauthenticated, so it is a refused login, not an outage. It matches
// ErrSocialRejected and ErrSocialFailed.
type SocialProviderError struct {
	Provider string
	// Code is the error code, reduced to a safe form (see oauthCode).
	Code string
}

func (e *SocialProviderError) Error() string {
	return fmt.Sprintf("%s did not complete the login (it answered %s); start again, or log in another way", e.Provider, e.Code)
}

func (e *SocialProviderError) Is(target error) bool {
	return target == ErrSocialRejected || target == ErrSocialFailed
}

// refusal marks, inside the exchange, an answer refused as forged, altered or refused by
// the provider, as opposed to an outage.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refused(format string, args ...any) error { return &refusal{fmt.Errorf(format, args...)} }

// oauthCode reduces an OAuth error code from an upstream answer to something safe to show
// and log: the code if it is short and of the usual characters, else "an invalid error".
func oauthCode(code string) string {
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
	e := fmt.Errorf("token endpoint answered %d %s", status, oauthCode(re.ErrorCode))
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

// auditSocialRefused logs a refused callback as a security event: the provider, the
// reason, the network the login was started from. Never a code, a token, a state or a
// secret.
func (p *Provider) auditSocialRefused(provider string, rec store.OneTimeCode, reason string, err error) {
	args := []any{"event", "social_login_refused", "provider", provider, "reason", reason}
	if ip := rec.Data[socialDataIP]; ip != "" {
		args = append(args, "client_ip", ip)
	}
	if err != nil {
		args = append(args, "error", err.Error())
	}
	p.Logger.Warn("social login refused", args...)
}

// exchangeError turns a failure of the exchange at the callback into what the portal
// shows, and logs it.
func (p *Provider) exchangeError(sp *SocialProvider, rec store.OneTimeCode, err error) error {
	var ue *SocialUnavailableError
	var rf *refusal
	switch {
	case errors.As(err, &ue):
		return err // logged where discovery failed
	case errors.As(err, &rf):
		p.auditSocialRefused(sp.Name, rec, "answer_refused", err)
		return ErrSocialRejected
	default:
		p.Logger.Warn("social login: provider failed during the callback", "event", "social_provider_unavailable",
			"provider", sp.Name, "error", err)
		return &SocialUnavailableError{Provider: sp.label(), Callback: true, Err: err}
	}
}
