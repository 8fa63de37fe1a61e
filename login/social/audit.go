package social

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// auditRefused logs a refused callback as a security event: the provider, the reason, the
// network the login was started from. Never a code, a token, a state or a secret.
func (m *Method) auditRefused(provider string, rec store.OneTimeCode, reason string, err error) {
	args := []any{"event", "social_login_refused", "provider", provider, "reason", reason}
	if ip := rec.Data[dataIP]; ip != "" {
		args = append(args, "client_ip", ip)
	}
	if err != nil {
		args = append(args, "error", err.Error())
	}
	m.logger().Warn("social login refused", args...)
}

// exchangeError turns a failure of the exchange at the callback into what the portal
// shows, and logs it.
func (m *Method) exchangeError(sp *Provider, rec store.OneTimeCode, err error) error {
	var ue *upstream.UnavailableError
	switch {
	case errors.As(err, &ue):
		return err // logged where discovery failed
	case upstream.IsRefusal(err):
		m.auditRefused(sp.Name, rec, "answer_refused", err)
		return upstream.ErrRejected
	default:
		m.logger().Warn("social login: provider failed during the callback", "event", "social_provider_unavailable",
			"provider", sp.Name, "error", err)
		return &upstream.UnavailableError{Provider: sp.DisplayName(), Callback: true, Err: err}
	}
}
