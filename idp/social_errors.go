package idp

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
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
var ErrSocialUnavailable = upstream.ErrUnavailable

// ErrSocialRejected: the provider's answer was refused — forged, altered, replayed, from
// another provider, or refused by the provider's token endpoint. It matches ErrSocialFailed.
var ErrSocialRejected = upstream.ErrRejected

// SocialUnavailableError: the upstream provider cannot be used now (an outage). It matches
// ErrSocialUnavailable and ErrSocialFailed.
type SocialUnavailableError = upstream.UnavailableError

// SocialProviderError: the provider answered the authorization request with an error
// other than access_denied (RFC 6749 §4.1.2.1). It matches ErrSocialRejected and
// ErrSocialFailed.
type SocialProviderError = upstream.ProviderError

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
	switch {
	case errors.As(err, &ue):
		return err // logged where discovery failed
	case upstream.IsRefusal(err):
		p.auditSocialRefused(sp.Name, rec, "answer_refused", err)
		return ErrSocialRejected
	default:
		p.Logger.Warn("social login: provider failed during the callback", "event", "social_provider_unavailable",
			"provider", sp.Name, "error", err)
		return &SocialUnavailableError{Provider: sp.label(), Callback: true, Err: err}
	}
}
