package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// logoutTarget is a validated RP-initiated logout request (OpenID Connect RP-Initiated Logout
// 1.0): where to send the browser afterwards, if anywhere.
type logoutTarget struct {
	ClientID string
	URI      string // registered post_logout_redirect_uri, or ""
	State    string
	// App is the app of the request's client, from its registration only (appHome), for
	// the confirmation's Cancel and the logged-out page's "log in again"; AppClient its
	// client_id. Both "" without a known client.
	App, AppClient string
	// AppName is the client's name (its client_id when it has none).
	AppName string
}

// appHome is where a client's app lives, from its registration only (never from the
// request: no open redirect): its first registered post_logout_redirect_uri, else the
// origin of its first http(s) redirect URI; "" for none (a native app's custom scheme).
func appHome(c *oauth.Client) string {
	if len(c.PostLogoutRedirectURIs) > 0 {
		return c.PostLogoutRedirectURIs[0]
	}
	for _, ru := range c.RedirectURIs {
		u, err := url.Parse(ru)
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			return u.Scheme + "://" + u.Host + "/"
		}
	}
	return ""
}

func (t logoutTarget) redirect() string {
	if t.URI == "" {
		return ""
	}
	u, err := url.Parse(t.URI)
	if err != nil {
		return ""
	}
	if t.State != "" {
		q := u.Query()
		q.Set("state", t.State)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// parseLogout validates the logout parameters. An invalid id_token_hint is an error (no
// logout through it, no redirect); an unregistered post_logout_redirect_uri only disables the
// redirect.
func (h *Handler) parseLogout(ctx context.Context, q url.Values) (logoutTarget, error) {
	var t logoutTarget
	for _, k := range logoutParams {
		if len(q[k]) > 1 || len(q.Get(k)) > 4096 {
			return t, errors.New("a logout parameter is repeated or too long")
		}
	}
	t.ClientID = q.Get("client_id")
	if hint := q.Get("id_token_hint"); hint != "" {
		claims, err := h.IDTokens.VerifyIDToken(hint, true)
		if err != nil {
			return t, errors.New("the id_token_hint is not a valid ID token from this issuer")
		}
		aud, _ := claims["aud"].(string)
		if aud == "" {
			return t, errors.New("the id_token_hint has no single audience")
		}
		if t.ClientID != "" && t.ClientID != aud {
			return t, errors.New("client_id does not match the id_token_hint")
		}
		t.ClientID = aud
	}
	if t.ClientID != "" {
		if c, err := h.Clients.Client(ctx, t.ClientID); err == nil {
			t.App, t.AppClient, t.AppName = appHome(c), t.ClientID, c.Name
			if t.AppName == "" {
				t.AppName = t.ClientID
			}
		}
	}
	uri := q.Get("post_logout_redirect_uri")
	if uri == "" || t.ClientID == "" {
		return t, nil
	}
	c, err := h.Clients.Client(ctx, t.ClientID)
	if err != nil || !c.HasPostLogoutRedirectURI(uri) {
		t.ClientID = ""
		return t, nil
	}
	t.URI, t.State = uri, q.Get("state")
	return t, nil
}

// logoutParams are the parameters of an RP-initiated logout request (RP-Initiated Logout 1.0
// §2).
var logoutParams = []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales", "logout_hint"}

// logoutPost: POST /logout. OpenID Connect RP-Initiated Logout 1.0 §2: "The OP MUST support
// the use of the HTTP GET and POST methods defined in RFC 7231 at the Logout Endpoint. RPs
// MAY use the HTTP GET or POST methods to send the logout request to the OP. If using the
// HTTP POST method, the request parameters are serialized using Form Serialization." An
// RP's POST changes nothing — it is answered exactly as the GET, with the confirmation page
// — so it passes without the cross-origin check. The confirmation form's submission is the
// POST that carries a csrf_token field: only it ends the session, behind the cross-origin
// protection and the CSRF check (logoutForm).
func (h *Handler) logoutPost(w http.ResponseWriter, r *http.Request) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	if f.Has("csrf_token") {
		h.confirmLogout.ServeHTTP(w, r)
		return
	}
	h.logoutPage(w, r)
}

type logoutData struct {
	Action string
	Email  string
	Hidden map[string]string
	// Cancel is where the Cancel link goes.
	Cancel string
}

// loggedOutData is the data of the logged-out page: LoginAgain is its "log in again" link,
// the app the user came from (appHome) or the portal's login page; App names that app.
type loggedOutData struct {
	LoginAgain, App string
}

func (h *Handler) loggedOut(t logoutTarget) loggedOutData {
	if t.App != "" {
		return loggedOutData{LoginAgain: t.App, App: t.AppName}
	}
	return loggedOutData{LoginAgain: h.Base + "/login"}
}

func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	q, err := web.ParseForm(w, r)
	if err != nil {
		h.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	t, err := h.parseLogout(r.Context(), q)
	if err != nil {
		h.Fail(w, r, http.StatusBadRequest, "Cannot log out", portalkit.Capitalize(err.Error())+".", "invalid_request")
		return
	}
	secret := h.Cookie.Secret(r)
	if secret == "" && r.Method == http.MethodPost && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		// A form another site posted carries no SameSite=Lax session cookie: ask again by
		// GET (a top-level navigation, which does carry it) before concluding that the
		// browser has no session.
		again := url.Values{}
		for _, k := range logoutParams {
			if q.Has(k) {
				again[k] = q[k]
			}
		}
		http.Redirect(w, r, h.Base+"/logout?"+again.Encode(), http.StatusSeeOther)
		return
	}
	_, u, err := h.Sessions.Get(r.Context(), secret)
	if errors.Is(err, sessions.ErrNoSession) {
		if target := t.redirect(); target != "" {
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		h.Page(w, r, http.StatusOK, "loggedout", "Logged out", "", h.loggedOut(t))
		return
	} else if err != nil {
		h.LogFailure("logout page: read session", err)
		h.Fail(w, r, http.StatusServiceUnavailable, "Unavailable", "Something went wrong on our side. Try again in a moment.", "unavailable")
		return
	}
	hidden := map[string]string{}
	if t.URI != "" {
		hidden["client_id"], hidden["post_logout_redirect_uri"], hidden["state"] = t.ClientID, t.URI, t.State
	} else if t.AppClient != "" {
		hidden["client_id"] = t.AppClient // the logged-out page's "log in again" goes back to the app
	}
	// Cancel goes back where the user was: the app of an RP-initiated logout, else the
	// portal page given as return_to (a local path only: PX-19), else the account page.
	cancel := t.App
	if cancel == "" {
		cancel = h.AfterLogin(portalkit.ReturnTo(q.Get("return_to")))
	}
	h.Page(w, r, http.StatusOK, "logout", "Log out", "", logoutData{Action: h.Base + "/logout", Email: u.Email, Hidden: hidden, Cancel: cancel})
}

func (h *Handler) logoutForm(w http.ResponseWriter, r *http.Request) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.Fail(w, r, http.StatusForbidden, "Request refused", "Your form expired. Go back, reload the page and try again.", "csrf")
		return
	}
	t, err := h.parseLogout(r.Context(), f)
	if err != nil {
		t = logoutTarget{}
	}
	if err := h.endSession(w, r); err != nil {
		h.LogFailure("logout", err)
		h.Fail(w, r, http.StatusServiceUnavailable, "Unavailable", "Logging out failed on our side. Try again in a moment.", "unavailable")
		return
	}
	if target := t.redirect(); target != "" {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	h.Page(w, r, http.StatusOK, "loggedout", "Logged out", "", h.loggedOut(t))
}

// endSession ends the browser's session (record, refresh tokens, access tokens) and clears
// the cookie.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) error {
	if err := h.Sessions.EndBySecret(r.Context(), h.Cookie.Secret(r)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return h.Cookie.Clear(w, r)
}

type sessionResponse struct {
	Authenticated bool                `json:"authenticated"`
	User          *portalkit.UserJSON `json:"user,omitempty"`
	AuthTime      time.Time           `json:"auth_time,omitzero"`
	AMR           []string            `json:"amr,omitempty"`
	ExpiresAt     time.Time           `json:"expires_at,omitzero"`
}

// apiSession: GET /api/v1/session.
func (h *Handler) apiSession(w http.ResponseWriter, r *http.Request) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteJSON(w, http.StatusUnauthorized, sessionResponse{})
		return
	} else if err != nil {
		h.APIError(w, r, err)
		return
	}
	uj := portalkit.ToUserJSON(u)
	web.WriteJSON(w, http.StatusOK, sessionResponse{Authenticated: true, User: &uj, AuthTime: s.AuthTime,
		AMR: s.AMR, ExpiresAt: s.ExpiresAt()})
}

// apiLogout: POST /api/v1/logout with Content-Type: application/json (a cross-site form
// cannot send that type) and an empty body or an empty JSON object.
func (h *Handler) apiLogout(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		web.WriteAPIError(w, http.StatusUnsupportedMediaType, "invalid_request", "send Content-Type: application/json")
		return
	}
	if r.ContentLength != 0 {
		var req struct{}
		if err := web.DecodeJSON(w, r, &req); err != nil && !errors.Is(err, io.EOF) {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	if err := h.endSession(w, r); err != nil {
		h.APIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
