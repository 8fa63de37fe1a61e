package social

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

type linkRequiredData struct {
	Email, Provider, Login string
}

// fail answers a failed social login. A refused upstream answer (forged, altered,
// replayed, an error from the provider) is a 400-class answer, access_denied 403; only an
// outage is 502 (the provider failed during the callback) or 503 (it cannot be reached to
// start; Retry-After while Gatehouse waits before asking it again).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		link    *social.LinkRequiredError
		limit   *social.LimitError
		down    *upstream.UnavailableError
		upError *upstream.ProviderError
	)
	switch {
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter.Seconds())+1))
		h.Fail(w, r, http.StatusTooManyRequests, "Too many logins", portalkit.Capitalize(err.Error())+".", "too_many_requests")
	case errors.As(err, &down) && down.Callback:
		h.Fail(w, r, http.StatusBadGateway, "Login failed", portalkit.Capitalize(err.Error())+".", "upstream_failed")
	case errors.As(err, &down):
		if down.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((down.RetryAfter+time.Second-1)/time.Second)))
		}
		h.Fail(w, r, http.StatusServiceUnavailable, "Provider unavailable", portalkit.Capitalize(err.Error())+".", "provider_unavailable")
	case errors.As(err, &upError):
		h.Fail(w, r, http.StatusBadRequest, "Login failed", portalkit.Capitalize(err.Error())+".", "upstream_error")
	case errors.Is(err, upstream.ErrRejected):
		h.Fail(w, r, http.StatusBadRequest, "Login failed", portalkit.Capitalize(err.Error())+".", "upstream_rejected")
	case errors.As(err, &link):
		h.Page(w, r, http.StatusConflict, "link_required", "Account exists", "", linkRequiredData{Email: link.Email,
			Provider: link.Provider, Login: h.Base + "/login?login_hint=" + url.QueryEscape(link.Email)})
	case errors.Is(err, sessions.ErrReauthenticate):
		// Linking with an old login: back to the account page, which offers a new login.
		h.AccountError(w, r, http.StatusForbidden, portalkit.Capitalize(err.Error())+".")
	case errors.Is(err, social.ErrUnknown):
		h.Fail(w, r, http.StatusNotFound, "Not available", portalkit.Capitalize(err.Error())+".", "social_unknown")
	case errors.Is(err, social.ErrState):
		h.Fail(w, r, http.StatusBadRequest, "Login expired", portalkit.Capitalize(err.Error())+".", "invalid_state")
	case errors.Is(err, social.ErrDenied):
		h.Fail(w, r, http.StatusForbidden, "Login cancelled", portalkit.Capitalize(err.Error())+".", "access_denied")
	case errors.Is(err, social.ErrNoAccount):
		h.Fail(w, r, http.StatusForbidden, "No account", portalkit.Capitalize(err.Error())+".", "no_account")
	case errors.Is(err, social.ErrNotAllowed):
		h.Fail(w, r, http.StatusForbidden, "Not allowed", portalkit.Capitalize(err.Error())+".", "not_allowed")
	case errors.Is(err, social.ErrNoEmail):
		h.Fail(w, r, http.StatusForbidden, "Email not confirmed", portalkit.Capitalize(err.Error())+".", "email_unverified")
	case errors.Is(err, social.ErrLinkedOther):
		h.Fail(w, r, http.StatusConflict, "Already linked", portalkit.Capitalize(err.Error())+".", "identity_taken")
	case errors.Is(err, upstream.ErrFailed):
		h.Fail(w, r, http.StatusBadGateway, "Login failed", portalkit.Capitalize(err.Error())+".", "upstream_failed")
	default:
		status, code, msg, _ := h.Classify(w, r, err)
		h.Fail(w, r, status, "Login failed", msg, code)
	}
}
