// Package social serves social login through an upstream OpenID Connect or OAuth 2.0
// provider: going there (GET /login/social/{name}), its answer (GET or POST
// /login/social/{name}/callback), and linking an upstream identity to the signed-in user
// (POST /account/identities/link/{name}). The list and the unlinking of identities are
// handlers/account's. The callback is accepted only in the browser that started the login
// (the state cookie: login CSRF).
package social

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
)

// socialCookie holds the state of an upstream login: the callback is accepted only in the
// browser that started it (login CSRF). It is SameSite=Lax: a callback posted from the
// provider's site is first re-posted from a portal page (see callback).
const socialCookie = "social"

// doneCookie remembers, for a minute after a social login, where it went: the same answer
// submitted twice (a double click, the back button) then goes there too, instead of
// "Login expired" for a user who is logged in.
const doneCookie = "social_done"

// Social is social login and identity linking (*social.Method).
type Social interface {
	Provider(name string) *social.Provider
	Begin(ctx context.Context, clientIP, name, returnTo string) (social.Start, error)
	BeginLink(ctx context.Context, clientIP, name string, s store.Session) (social.Start, error)
	Finish(ctx context.Context, name string, cb social.Callback, sess store.Session) (social.Result, error)
}

// Handler serves social login and linking. Every field is required.
type Handler struct {
	*portalkit.Kit
	Social Social
	// AccountError renders the account page with an error message above it (the account
	// handler's RenderError): a link that needs a fresh login goes back there.
	AccountError func(w http.ResponseWriter, r *http.Request, status int, msg string)
}

// Mount registers the handler's routes on mux. The callback's POST (response_mode
// form_post) comes from the provider's site, so it is not subject to the same-origin check.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/login/social/{name}", h.start)
	h.Handle(mux, "GET", "/login/social/{name}/callback", h.callback)
	h.Handle(mux, "POST", "/login/social/{name}/callback", h.callback)
	h.HandleChange(mux, "POST", "/account/identities/link/{name}", h.linkForm)
}

// GET /login/social/{name}?return_to=: go to the upstream provider. The logins a client IP
// leaves unfinished are limited (social.Limits).
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	returnTo := portalkit.ReturnTo(r.URL.Query().Get("return_to"))
	h.begin(w, r, attempt{Label: h.label(r.PathValue("name")), ReturnTo: returnTo}, func() (social.Start, error) {
		return h.Social.Begin(r.Context(), h.ClientIP(r), r.PathValue("name"), returnTo)
	})
}

// label is the provider's name for users, "" for an unknown provider.
func (h *Handler) label(name string) string {
	if sp := h.Social.Provider(name); sp != nil {
		return sp.DisplayName()
	}
	return ""
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request, a attempt, begin func() (social.Start, error)) {
	start, err := begin()
	if err != nil {
		h.fail(w, r, err, a)
		return
	}
	h.SetShortCookie(w, socialCookie, start.State, 600)
	http.Redirect(w, r, start.URL, http.StatusSeeOther)
}

// POST /account/identities/link/{name}: link an upstream identity to the signed-in user.
func (h *Handler) linkForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.Form(w, r); !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	h.begin(w, r, attempt{Label: h.label(r.PathValue("name")), Linking: true}, func() (social.Start, error) {
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

// callback: GET or POST /login/social/{name}/callback: the upstream's answer. POST (form_post) comes
// from the provider's site, so it is not subject to the same-origin check; the state cookie
// is what ties it to this browser. A cross-site POST carries none of the portal's
// SameSite=Lax cookies, so the answer is first posted again by a portal page (same-site),
// with the cookies: the state cookie, and the session of a user linking an identity.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	name := r.PathValue("name")
	if h.Social.Provider(name) == nil {
		h.fail(w, r, social.ErrUnknown, attempt{})
		return
	}
	var q url.Values
	if r.Method == http.MethodPost {
		f, err := web.ParseForm(w, r)
		if err != nil {
			h.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
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
			h.Render(w, r, http.StatusOK, "social_repost", "Logging in", "", "", d)
			return
		}
	} else {
		q = r.URL.Query()
	}
	cookie := h.ShortCookie(r, socialCookie)
	h.SetShortCookie(w, socialCookie, "", -1)
	var sess store.Session
	if s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r)); err == nil {
		sess = s
	}
	res, err := h.Social.Finish(r.Context(), name, social.Callback{State: q.Get("state"), CookieState: cookie,
		Code: q.Get("code"), Error: q.Get("error"), Iss: q.Get("iss")}, sess)
	if errors.Is(err, social.ErrStateUsed) && sess.UserID != "" {
		// The answer was used already — submitted twice, or the back button — and this
		// browser is logged in: go on to where the login went.
		http.Redirect(w, r, h.AfterLogin(h.ShortCookie(r, doneCookie)), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.fail(w, r, err, attempt{Label: res.Provider, ReturnTo: res.ReturnTo, Linking: res.Linking})
		return
	}
	if res.Linked {
		// The account page confirms the link.
		http.Redirect(w, r, h.Base+"/?linked="+url.QueryEscape(name), http.StatusSeeOther)
		return
	}
	amr := res.AMR
	next := h.AfterLogin(res.ReturnTo)
	if res.NewUser {
		err = h.StartSession(w, r, res.User, amr, true, "")
	} else {
		next, err = h.AfterFirstFactor(w, r, res.User, amr, res.ReturnTo)
	}
	if err != nil {
		h.fail(w, r, err, attempt{Label: res.Provider, ReturnTo: res.ReturnTo})
		return
	}
	h.SetShortCookie(w, doneCookie, portalkit.ReturnTo(res.ReturnTo), 60)
	http.Redirect(w, r, next, http.StatusSeeOther)
}
