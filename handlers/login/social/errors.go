package social

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

type linkRequiredData struct {
	Email, Provider, Login string
}

// attempt is what a failure page needs of the login that failed: the provider's label, the
// page the user was going to, and whether it was a link from the account page.
type attempt struct {
	Label, ReturnTo string
	Linking         bool
}

// retry is the failure page's way on: back to the login page, keeping the destination, or,
// for a link, back to the account page.
func (h *Handler) retry(a attempt) (link, text string) {
	if a.Linking {
		return h.Base + "/", i18n.N("Back to your account")
	}
	return h.LoginURL(portalkit.ReturnTo(a.ReturnTo)), i18n.N("Back to the login page")
}

// fail answers a failed social login with a page that names the provider by its label,
// says what happened in a sentence, and links back to where the user can try again. A
// refused upstream answer (forged, altered, replayed, an error from the provider) is a
// 400-class answer, access_denied 403; only an outage is 502 (the provider failed during
// the callback) or 503 (it cannot be reached to start; Retry-After while Gatehouse waits
// before asking it again).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, a attempt) {
	var (
		link    *social.LinkRequiredError
		limit   *social.LimitError
		down    *upstream.UnavailableError
		upError *upstream.ProviderError
	)
	p := a.Label
	if p == "" {
		p = h.T(r, "The provider")
	}
	// page shows msg, already in the request's language; Page translates the title.
	page := func(status int, title, msg, code string) {
		d := portalkit.ErrorData{Message: msg, Code: code}
		link, text := h.retry(a)
		d.Link, d.LinkText = link, h.T(r, text)
		h.Page(w, r, status, "error", title, "", d)
	}
	switch {
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter.Seconds())+1))
		page(http.StatusTooManyRequests, i18n.N("Too many logins"), i18n.Text(h.Lang(r), portalkit.Capitalize(err.Error())+"."), "too_many_requests")
	case errors.As(err, &down) && down.Callback:
		page(http.StatusBadGateway, i18n.N("Login failed"), h.T(r, "%s did not answer while finishing your login. Try again in a few minutes, or log in another way.", p), "upstream_failed")
	case errors.As(err, &down):
		if down.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((down.RetryAfter+time.Second-1)/time.Second)))
		}
		page(http.StatusServiceUnavailable, i18n.N("Provider unavailable"), h.T(r, "%s is unavailable right now. Try again in a few minutes, or log in another way.", p), "provider_unavailable")
	case errors.As(err, &upError):
		page(http.StatusBadRequest, i18n.N("Login failed"), h.T(r, "%s did not complete the login (it answered %s). Start again, or log in another way.", p, upError.Code), "upstream_error")
	case errors.Is(err, upstream.ErrRejected):
		page(http.StatusBadRequest, i18n.N("Login failed"), h.T(r, "The answer from %[1]s was not accepted: it was altered, replayed or not from %[1]s, or %[1]s refused it. Start the login again.", p), "upstream_rejected")
	case errors.As(err, &link):
		login := url.Values{"login_hint": {link.Email}}
		if t := portalkit.ReturnTo(a.ReturnTo); t != "" {
			login.Set("return_to", t)
		}
		h.Page(w, r, http.StatusConflict, "link_required", "Account exists", "", linkRequiredData{Email: link.Email,
			Provider: link.Provider, Login: h.Base + "/login?" + login.Encode()})
	case errors.Is(err, sessions.ErrReauthenticate):
		// Linking with an old login: back to the account page, which offers a new login.
		h.AccountError(w, r, http.StatusForbidden, portalkit.Capitalize(err.Error())+".")
	case errors.Is(err, social.ErrUnknown):
		page(http.StatusNotFound, i18n.N("Not available"), h.T(r, "This login provider is not configured here. Choose another way to log in."), "social_unknown")
	case errors.Is(err, social.ErrState):
		page(http.StatusBadRequest, i18n.N("Login expired"), h.T(r, "This login attempt expired or was started in another browser. Start again."), "invalid_state")
	case errors.Is(err, social.ErrDenied):
		page(http.StatusForbidden, i18n.N("Login cancelled"), h.T(r, "The login was cancelled at %s. Start again if you want to log in.", p), "access_denied")
	case errors.Is(err, social.ErrNoAccount):
		page(http.StatusForbidden, i18n.N("No account"), h.T(r, "There is no account for this %s identity, and accounts are not created automatically. Ask an administrator.", p), "no_account")
	case errors.Is(err, social.ErrNotAllowed):
		page(http.StatusForbidden, i18n.N("Not allowed"), h.T(r, "This %s identity is not allowed to log in here: its email domain or groups are not on the list.", p), "not_allowed")
	case errors.Is(err, social.ErrNoEmail):
		page(http.StatusForbidden, i18n.N("Email not confirmed"), h.T(r, "%s did not confirm an email address for this identity. Verify one there and try again.", p), "email_unverified")
	case errors.Is(err, social.ErrLinkedOther):
		page(http.StatusConflict, i18n.N("Already linked"), h.T(r, "This %s identity is already linked to another account.", p), "identity_taken")
	case errors.Is(err, upstream.ErrFailed):
		page(http.StatusBadGateway, i18n.N("Login failed"), h.T(r, "The login through %s could not be completed. Try again.", p), "upstream_failed")
	default:
		status, code, msg, _ := h.Classify(w, r, err)
		page(status, "Login failed", i18n.Text(h.Lang(r), msg), code)
	}
}
