package login

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// socialCookie holds the state of an upstream login: the callback is accepted only in the
// browser that started it (login CSRF).
const socialCookie = "social"

func (h *Handler) socialButtons() []ui.SocialButton {
	var out []ui.SocialButton
	for _, sp := range h.Social.Configured() {
		label := sp.Label
		if label == "" {
			label = sp.Name
		}
		out = append(out, ui.SocialButton{Name: sp.Name, Label: label})
	}
	return out
}

// setSocialCookie sets the state cookie (SameSite=Lax: a callback posted from the provider's
// site is first re-posted from a portal page, see socialCallback).
func (h *Handler) setSocialCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: web.CookieName(socialCookie, h.CSRF.Secure), Value: value, Path: "/",
		MaxAge: maxAge, HttpOnly: true, Secure: h.CSRF.Secure, SameSite: http.SameSiteLaxMode})
}

// GET /login/social/{name}?return_to=: go to the upstream provider. The logins a client IP
// leaves unfinished are limited (social.Limits).
func (h *Handler) socialStart(w http.ResponseWriter, r *http.Request) {
	h.beginSocial(w, r, func() (social.Start, error) {
		return h.Social.Begin(r.Context(), h.ClientIP(r), r.PathValue("name"), returnTo(r.URL.Query().Get("return_to")))
	})
}

func (h *Handler) beginSocial(w http.ResponseWriter, r *http.Request, begin func() (social.Start, error)) {
	start, err := begin()
	if err != nil {
		h.socialFail(w, r, err)
		return
	}
	h.setSocialCookie(w, start.State, 600)
	http.Redirect(w, r, start.URL, http.StatusSeeOther)
}

// POST /account/identities/link/{name}: link an upstream identity to the signed-in user.
func (h *Handler) socialLinkForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.form(w, r); !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	h.beginSocial(w, r, func() (social.Start, error) {
		return h.Social.BeginLink(r.Context(), h.ClientIP(r), r.PathValue("name"), s)
	})
}

// repostData is the page that posts a form_post answer to the callback again, from the
// portal's own origin.
type repostData struct {
	Action string
	Fields []repostField
}

type repostField struct{ Name, Value string }

// repostFields are the parameters of an authorization answer (RFC 6749 §4.1.2, RFC 9207).
var repostFields = []string{"state", "code", "error", "iss"}

// GET or POST /login/social/{name}/callback: the upstream's answer. POST (form_post) comes
// from the provider's site, so it is not subject to the same-origin check; the state cookie
// is what ties it to this browser. A cross-site POST carries none of the portal's
// SameSite=Lax cookies, so the answer is first posted again by a portal page (same-site),
// with the cookies: the state cookie, and the session of a user linking an identity.
func (h *Handler) socialCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	name := r.PathValue("name")
	if h.Social.Provider(name) == nil {
		h.socialFail(w, r, social.ErrUnknown)
		return
	}
	var q url.Values
	if r.Method == http.MethodPost {
		f, err := web.ParseForm(w, r)
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
			return
		}
		q = f
		if q.Get("reposted") == "" {
			d := repostData{Action: h.Base + "/login/social/" + name + "/callback"}
			for _, k := range repostFields {
				if v := q.Get(k); v != "" && len(v) <= 4096 {
					d.Fields = append(d.Fields, repostField{k, v})
				}
			}
			// No CSRF token: the cross-site POST came without the CSRF cookie, and setting a
			// new one would break the forms of the user's other portal tabs.
			h.render(w, http.StatusOK, "social_repost", "Logging in", "", "", d)
			return
		}
	} else {
		q = r.URL.Query()
	}
	cookie := h.shortCookie(r, socialCookie)
	h.setSocialCookie(w, "", -1)
	var sess store.Session
	if s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r)); err == nil {
		sess = s
	}
	res, err := h.Social.Finish(r.Context(), name, social.Callback{State: q.Get("state"), CookieState: cookie,
		Code: q.Get("code"), Error: q.Get("error"), Iss: q.Get("iss")}, sess)
	if err != nil {
		h.socialFail(w, r, err)
		return
	}
	if res.Linked {
		http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
		return
	}
	amr := res.AMR
	next := h.afterLogin(res.ReturnTo)
	if res.NewUser {
		err = h.startSession(w, r, res.User, amr, true)
	} else {
		next, err = h.afterFirstFactor(w, r, res.User, amr, res.ReturnTo)
	}
	if err != nil {
		h.socialFail(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type linkRequiredData struct {
	Email, Provider, Login string
}

// socialFail answers a failed social login. A refused upstream answer (forged, altered,
// replayed, an error from the provider) is a 400-class answer, access_denied 403; only an
// outage is 502 (the provider failed during the callback) or 503 (it cannot be reached to
// start; Retry-After while Gatehouse waits before asking it again).
func (h *Handler) socialFail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		link    *social.LinkRequiredError
		limit   *social.LimitError
		down    *upstream.UnavailableError
		upError *upstream.ProviderError
	)
	switch {
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter.Seconds())+1))
		h.fail(w, r, http.StatusTooManyRequests, "Too many logins", capitalize(err.Error())+".", "too_many_requests")
	case errors.As(err, &down) && down.Callback:
		h.fail(w, r, http.StatusBadGateway, "Login failed", capitalize(err.Error())+".", "upstream_failed")
	case errors.As(err, &down):
		if down.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((down.RetryAfter+time.Second-1)/time.Second)))
		}
		h.fail(w, r, http.StatusServiceUnavailable, "Provider unavailable", capitalize(err.Error())+".", "provider_unavailable")
	case errors.As(err, &upError):
		h.fail(w, r, http.StatusBadRequest, "Login failed", capitalize(err.Error())+".", "upstream_error")
	case errors.Is(err, upstream.ErrRejected):
		h.fail(w, r, http.StatusBadRequest, "Login failed", capitalize(err.Error())+".", "upstream_rejected")
	case errors.As(err, &link):
		h.page(w, r, http.StatusConflict, "link_required", "Account exists", "", linkRequiredData{Email: link.Email,
			Provider: link.Provider, Login: h.Base + "/login?login_hint=" + url.QueryEscape(link.Email)})
	case errors.Is(err, sessions.ErrReauthenticate):
		// Linking with an old login: back to the account page, which offers a new login.
		h.accountWithError(w, r, http.StatusForbidden, capitalize(err.Error())+".")
	case errors.Is(err, social.ErrUnknown):
		h.fail(w, r, http.StatusNotFound, "Not available", capitalize(err.Error())+".", "social_unknown")
	case errors.Is(err, social.ErrState):
		h.fail(w, r, http.StatusBadRequest, "Login expired", capitalize(err.Error())+".", "invalid_state")
	case errors.Is(err, social.ErrDenied):
		h.fail(w, r, http.StatusForbidden, "Login cancelled", capitalize(err.Error())+".", "access_denied")
	case errors.Is(err, social.ErrNoAccount):
		h.fail(w, r, http.StatusForbidden, "No account", capitalize(err.Error())+".", "no_account")
	case errors.Is(err, social.ErrNotAllowed):
		h.fail(w, r, http.StatusForbidden, "Not allowed", capitalize(err.Error())+".", "not_allowed")
	case errors.Is(err, social.ErrNoEmail):
		h.fail(w, r, http.StatusForbidden, "Email not confirmed", capitalize(err.Error())+".", "email_unverified")
	case errors.Is(err, social.ErrLinkedOther):
		h.fail(w, r, http.StatusConflict, "Already linked", capitalize(err.Error())+".", "identity_taken")
	case errors.Is(err, upstream.ErrFailed):
		h.fail(w, r, http.StatusBadGateway, "Login failed", capitalize(err.Error())+".", "upstream_failed")
	default:
		status, code, msg, _ := h.classify(w, err)
		h.fail(w, r, status, "Login failed", msg, code)
	}
}

// POST /account/identities/unlink {provider, subject}.
func (h *Handler) socialUnlinkForm(w http.ResponseWriter, r *http.Request) {
	h.passkeyForm(w, r, func(s store.Session, f url.Values) error {
		return h.Social.Unlink(r.Context(), s, f.Get("provider"), f.Get("subject"))
	})
}

type identityJSON struct {
	Provider   string    `json:"provider"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// GET /api/v1/account/identities.
func (h *Handler) apiIdentities(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	ids, err := h.Social.Identities(r.Context(), u.ID)
	if err != nil {
		h.apiError(w, err)
		return
	}
	out := []identityJSON{}
	for _, i := range ids {
		out = append(out, identityJSON{Provider: i.Provider, Subject: i.Subject, Email: i.Email, CreatedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"identities": out})
}

// POST /api/v1/account/identities/unlink {provider, subject}.
func (h *Handler) apiUnlinkIdentity(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req struct {
		Provider string `json:"provider"`
		Subject  string `json:"subject"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	err := h.Social.Unlink(r.Context(), s, req.Provider, req.Subject)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, social.ErrLastMethod):
		web.WriteAPIError(w, http.StatusConflict, "last_credential", capitalize(err.Error())+".")
	case errors.Is(err, account.ErrUserNotFound):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "No such linked identity.")
	default:
		h.apiCodeError(w, err)
	}
}
