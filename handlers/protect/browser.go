package protect

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// errUnavailable marks a store failure while refreshing: fail closed with 503.
var errUnavailable = errors.New("token service unavailable")

// errBadCookie: the session cookie is not one of ours (tampered, sealed for another cookie
// name or with another key, or of the earlier plain format).
var errBadCookie = errors.New("malformed session cookie")

// errOtherClient: the session cookie was sealed for a Guard of another client.
var errOtherClient = errors.New("session cookie of another client")

// pendingLogin is a login started by the Guard, kept in the state cookie until the callback.
type pendingLogin struct {
	State       string `json:"s"`
	Nonce       string `json:"n"`
	Verifier    string `json:"v"`
	ReturnTo    string `json:"t"`
	RedirectURI string `json:"u"`
	Created     int64  `json:"c"`
	// Client and Cookie are the client and the session cookie of the Guard that started the
	// login: the callback may be served by another Guard of the same site (the first one
	// whose route matches /.gatehouse/callback), which must complete the login as the
	// starting Guard would.
	Client string `json:"l"`
	Cookie string `json:"k"`
	// StepUp marks a login started to get a multi-factor login (acr_values=aal2) for a
	// route with mfa: if it comes back without one, the callback explains what to do instead
	// of returning to the route, which would only start the same login again.
	StepUp bool `json:"m,omitempty"`
	// MaxAge is the max_age (seconds) the login asked for, on a route with MaxAge.
	MaxAge int64 `json:"a,omitempty"`
}

// maxPending bounds the logins remembered at once (one per tab that started one).
const maxPending = 4

// maxReturnURL is the longest URL a login returns to; longer ones return to "/".
const maxReturnURL = 1024

// loginTTL is how long a started login may take.
const loginTTL = 10 * time.Minute

func (g *Guard) stateCookieName(r *http.Request) string {
	if r.TLS != nil {
		return "__Host-gatehouse_state"
	}
	return "gatehouse_state"
}

func (g *Guard) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

func (g *Guard) clearCookie(w http.ResponseWriter, r *http.Request) {
	g.setCookie(w, r, g.cookieName(r), "", -1)
}

// pending returns the logins recorded in the state cookie. It reads the cookies the client
// sent (sentCookies): when a Guard starts a login it has already stripped the Gatehouse
// cookies from r, and reading r would forget the logins other tabs started.
func (g *Guard) pending(r *http.Request) []pendingLogin {
	v, ok, dup := findCookie(sentCookies(g.State, r), g.stateCookieName(r))
	if !ok || dup {
		return nil
	}
	var list []pendingLogin
	if err := g.codec.Decode("gatehouse_state", v, &list); err != nil {
		return nil
	}
	return list
}

// maxStateCookie keeps the state cookie well under the 4 KB browsers accept.
const maxStateCookie = 3500

func (g *Guard) savePending(w http.ResponseWriter, r *http.Request, list []pendingLogin) {
	for len(list) > 0 {
		enc, err := g.codec.Encode("gatehouse_state", list)
		if err != nil {
			g.Logger.Error("protect: encode state cookie", "error", err)
			return
		}
		if len(enc) <= maxStateCookie {
			g.setCookie(w, r, g.stateCookieName(r), enc, int(loginTTL/time.Second))
			return
		}
		list = list[1:] // drop the oldest pending login
	}
	g.setCookie(w, r, g.stateCookieName(r), "", -1)
}

// redirectURI is this site's callback URL, which must be registered for the client exactly.
func (g *Guard) redirectURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + g.CallbackPath
}

// startLogin sends the browser to the portal's authorization endpoint (code flow with PKCE,
// state and nonce), remembering where it wanted to go.
func (g *Guard) startLogin(w http.ResponseWriter, r *http.Request) { g.startLoginWith(w, r, false) }

// startStepUp is startLogin asking for a multi-factor login (RFC 9470 step-up: acr_values
// aal2), for a user whose credential lacks one on a route with mfa. The pending login is
// marked, so that a login that comes back still without a second factor ends on a page
// that says how to add one, never in another redirect (see callback).
func (g *Guard) startStepUp(w http.ResponseWriter, r *http.Request) { g.startLoginWith(w, r, true) }

// startLoginWith starts a login, a step-up if stepUp.
func (g *Guard) startLoginWith(w http.ResponseWriter, r *http.Request, stepUp bool) {
	client, err := g.Provider.Client(r.Context(), g.ClientID)
	if err != nil {
		g.Logger.Error("protect: load client", "client", g.ClientID, "error", err)
		g.renderPage(w, r, http.StatusServiceUnavailable, pageData{Title: "Login unavailable", Message: "The login service is unavailable. Try again in a moment."})
		return
	}
	redirectURI := g.redirectURI(r)
	if !client.HasRedirectURI(redirectURI) {
		g.renderPage(w, r, http.StatusBadRequest, pageData{Title: "Site not registered",
			Message: pageT(r, "Gatehouse does not know this site's login callback %s. The administrator must add it as a redirect_uri of client %s.", redirectURI, g.ClientID)})
		return
	}
	target := web.LocalPath(r.URL.RequestURI())
	if target == "" || strings.HasPrefix(target, "/.gatehouse/") || len(target) > maxReturnURL {
		target = "/" // a very long URL would not fit in the state cookie
	}
	p := pendingLogin{State: secret.New(24), Nonce: secret.New(24), Verifier: secret.New(32),
		ReturnTo: target, RedirectURI: redirectURI, Created: g.Provider.Now().Unix(),
		Client: g.ClientID, Cookie: g.cookieName(r), StepUp: stepUp}
	if g.MaxAge > 0 {
		// Else a portal session older than the route allows would log the user in again
		// without asking for anything, with the same old auth_time.
		p.MaxAge = g.maxAgeSeconds()
	}
	list := append(g.livePending(r), p)
	if len(list) > maxPending {
		list = list[len(list)-maxPending:]
	}
	g.savePending(w, r, list)
	sum := sha256.Sum256([]byte(p.Verifier))
	var scopes []string
	for _, s := range client.Scopes {
		if s != "offline_access" {
			scopes = append(scopes, s)
		}
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {g.ClientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {p.State},
		"nonce":                 {p.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if stepUp {
		q.Set("acr_values", idp.ACRMultiFactor)
	}
	if g.Journey != "" {
		q.Set("journey", g.Journey)
	}
	if p.MaxAge > 0 {
		q.Set("max_age", strconv.FormatInt(p.MaxAge, 10))
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, g.Provider.Issuer+"/authorize?"+q.Encode(), http.StatusFound)
}

func (g *Guard) livePending(r *http.Request) []pendingLogin {
	now := g.Provider.Now().Unix()
	var live []pendingLogin
	for _, p := range g.pending(r) {
		if now-p.Created < int64(loginTTL/time.Second) {
			live = append(live, p)
		}
	}
	return live
}

// callback completes a browser login: it checks state against the state cookie (so that only
// the browser that started the login can finish it), exchanges the code in-process with the
// PKCE verifier, checks the ID token's nonce, sets the session cookie and returns to the page
// first asked for.
func (g *Guard) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet {
		g.renderPage(w, r, http.StatusMethodNotAllowed, pageData{Title: "Invalid login", Message: "The login callback only accepts GET."})
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	for _, k := range []string{"code", "state", "iss", "error"} {
		if err == nil && len(q[k]) > 1 {
			err = errors.New("repeated parameter")
		}
	}
	if err != nil {
		g.renderPage(w, r, http.StatusBadRequest, pageData{Title: "Invalid login", Message: "The login response is malformed."})
		return
	}
	list := g.livePending(r)
	state := q.Get("state")
	idx := -1
	for i, p := range list {
		if state != "" && subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) == 1 {
			idx = i
		}
	}
	if idx < 0 {
		g.renderPage(w, r, http.StatusBadRequest, pageData{Title: "Login expired",
			Message: "This login was not started in this browser, or it took too long.", Link: "/", LinkText: "Start again"})
		return
	}
	p := list[idx]
	g.savePending(w, r, append(list[:idx:idx], list[idx+1:]...))
	if iss := q.Get("iss"); iss != "" && iss != g.Provider.Issuer {
		g.renderPage(w, r, http.StatusBadRequest, pageData{Title: "Invalid login", Message: "The login response came from another issuer."})
		return
	}
	if e := q.Get("error"); e != "" {
		if p.StepUp && e == idp.ErrCodeAccessDenied {
			// The portal refused the multi-factor login outright: same advice.
			g.secondFactorPage(w, r, p.ReturnTo, "")
			return
		}
		g.renderPage(w, r, http.StatusForbidden, pageData{Title: "Login not completed",
			Message: "The login did not complete (" + quoteSafe(e) + ").", Link: p.ReturnTo, LinkText: "Try again"})
		return
	}
	client, err := g.Provider.Client(r.Context(), p.Client)
	if err != nil {
		g.Logger.Error("protect: load client", "client", p.Client, "error", err)
		g.renderPage(w, r, http.StatusServiceUnavailable, pageData{Title: "Login unavailable", Message: "The login service is unavailable. Try again in a moment."})
		return
	}
	resp, oerr := g.Provider.ExchangeCode(r.Context(), client, q.Get("code"), p.RedirectURI, p.Verifier)
	if oerr != nil {
		status := http.StatusBadRequest
		if oerr.Kind == idp.ErrInternal {
			status = http.StatusServiceUnavailable
		}
		g.renderPage(w, r, status, pageData{Title: "Login failed", Message: pageT(r, "The login could not be completed: %s.", oerr.Description),
			Link: p.ReturnTo, LinkText: "Try again"})
		return
	}
	claims, err := g.Provider.Verifier.VerifyIDToken(resp.IDToken, false)
	if nonce, _ := claims["nonce"].(string); err != nil || subtle.ConstantTimeCompare([]byte(nonce), []byte(p.Nonce)) != 1 {
		g.renderPage(w, r, http.StatusBadRequest, pageData{Title: "Login failed", Message: "The login response did not match this browser's request."})
		return
	}
	if err := g.setAuthCookie(w, r, p.Cookie, sealedCookie{Client: p.Client, AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken}); err != nil {
		g.Logger.Error("protect: set session cookie", "error", err)
		g.renderPage(w, r, http.StatusInternalServerError, pageData{Title: "Login failed", Message: "The session could not be stored in this browser."})
		return
	}
	if resp.Claims != nil && staleLogin(p, resp.Claims.AuthTime, g.Provider.Now()) {
		g.staleLoginPage(w, r, p.ReturnTo)
		return
	}
	if p.StepUp && (resp.Claims == nil || !newIdentity(resp.Claims, nil).Policy.MFA) {
		// A step-up that came back without a second factor (the user has none, or chose to
		// go on without): returning to the route would only start the same login again, and
		// again. The new session is kept (it serves the routes without mfa); the page says
		// how to get a second factor, and going back to the route is the user's choice.
		email := ""
		if resp.Claims != nil {
			email = resp.Claims.Email
		}
		g.secondFactorPage(w, r, p.ReturnTo, email)
		return
	}
	http.Redirect(w, r, p.ReturnTo, http.StatusSeeOther)
}

// logout: GET shows a confirmation form (so that a cross-site image cannot log the user out,
// PX-23), POST ends the portal session behind the cookie — which revokes every token of it —
// and clears the cookie.
func (g *Guard) logout(w http.ResponseWriter, r *http.Request, cookies []string) {
	w.Header().Set("Cache-Control", "no-store")
	name, cookie, sid := g.sessionCookie(r, cookies)
	has := name != ""
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if sid == "" {
			g.clearCookie(w, r)
			http.Redirect(w, r, g.loggedOutURL(), http.StatusSeeOther)
			return
		}
		// Cancel goes back to the page the user came from on this site (return_to, a local
		// path only: PX-19), else to the site's root.
		back := web.LocalPath(r.URL.Query().Get("return_to"))
		if back == "" {
			back = "/"
		}
		g.renderPage(w, r, http.StatusOK, pageData{Title: "Log out", Message: "Log out of this site and every other app that uses this login?",
			Form: g.LogoutPath, CSRF: g.csrfToken(sid), Cancel: back})
	case http.MethodPost:
		if err := http.NewCrossOriginProtection().Check(r); err != nil {
			g.renderPage(w, r, http.StatusForbidden, pageData{Title: "Request refused", Message: "This request came from another site."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			g.renderPage(w, r, http.StatusBadRequest, pageData{Title: "Invalid request", Message: "The logout form is malformed."})
			return
		}
		if sid != "" {
			if !hmac.Equal([]byte(r.PostForm.Get("csrf_token")), []byte(g.csrfToken(sid))) {
				g.renderPage(w, r, http.StatusForbidden, pageData{Title: "Request refused", Message: "The logout form expired. Go back and try again."})
				return
			}
			if err := g.Provider.EndSession(r.Context(), sid); err != nil {
				g.Logger.Error("protect: logout", "error", err)
				g.renderPage(w, r, http.StatusServiceUnavailable, pageData{Title: "Logout failed", Message: "Logging out failed on our side. Try again in a moment."})
				return
			}
		}
		if has {
			g.cache.remove(cookie)
			g.setCookie(w, r, name, "", -1)
		}
		g.clearCookie(w, r)
		http.Redirect(w, r, g.loggedOutURL(), http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		g.renderPage(w, r, http.StatusMethodNotAllowed, pageData{Title: "Method not allowed", Message: "Use GET or POST."})
	}
}

// loggedOutURL is the portal's logged-out page, naming this site's client so that its "log
// in again" comes back to the site (the portal takes the address from the client's
// registration, never from the request).
func (g *Guard) loggedOutURL() string {
	if g.ClientID == "" {
		return g.Provider.Issuer + "/logout"
	}
	return g.Provider.Issuer + "/logout?client_id=" + url.QueryEscape(g.ClientID)
}

// sessionCookie finds the site's session cookie among the cookies the client sent: the
// Guard's own name first, else any Gatehouse cookie that opens as a session cookie of its
// name (the logout endpoint may be served by a handler configured with another cookie name
// or client). It returns the cookie's name, value and session ID.
func (g *Guard) sessionCookie(r *http.Request, cookies []string) (name, value, sid string) {
	sidOf := func(name, v string) string {
		if sc, ok := g.sealer.open(name, v); ok {
			if c, err := g.Provider.Verifier.VerifyAccessTokenIgnoringExpiry(sc.AccessToken); err == nil {
				return c.SessionID
			}
		}
		return ""
	}
	own := g.cookieName(r)
	if v, ok, _ := findCookie(cookies, own); ok {
		return own, v, sidOf(own, v)
	}
	for _, line := range cookies {
		for part := range strings.SplitSeq(line, ";") {
			n, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if !isGatehouseCookie(n) || len(v) < 64 {
				continue
			}
			if id := sidOf(n, v); id != "" {
				return n, v, id
			}
		}
	}
	return "", "", ""
}

func (g *Guard) csrfToken(sid string) string {
	m := hmac.New(sha256.New, g.CSRFKey)
	m.Write([]byte("protect-logout\x00"))
	m.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

type pageData struct {
	// Brand is the product name shown above the title (the portal's branding); Lang,
	// LogOut and CancelText are set by renderPage.
	Brand, Lang    string
	LogOut         string
	CancelText     string
	Title, Message string
	// Cancel, with Form, is where the form's Cancel link goes.
	Cancel         string
	Link, LinkText string
	Form, CSRF     string
	// Links are more links, shown after Link.
	Links []pageLink
}

type pageLink struct{ URL, Text string }

// page is a small self-contained page in the portal's look (the protected site serves none
// of the portal's assets): the brand above a card, as the portal's layout.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}{{if .Brand}} · {{.Brand}}{{end}}</title>
<style>body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f6fa;color:#1d2433}
main.card{max-width:26rem;margin:3rem auto;background:#fff;border-radius:14px;box-shadow:0 2px 12px rgba(20,30,60,.08);padding:1.5rem 1.75rem}
.brand{font-size:1rem;font-weight:700;color:#2454d6;margin:0 0 1rem}h2{margin:.2rem 0 .8rem;font-size:1.35rem}
.actions{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}a{color:#2454d6}
button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;border-radius:8px;background:#2454d6;color:#fff;cursor:pointer}</style>
</head><body><main class="card"><p class="brand">{{.Brand}}</p><h2>{{.Title}}</h2><p>{{.Message}}</p>
{{if .Form}}<form method="post" action="{{.Form}}" class="actions"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit">{{.LogOut}}</button>{{if .Cancel}}<a href="{{.Cancel}}" data-cancel>{{.CancelText}}</a>{{end}}</form>{{end}}
{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
{{range .Links}}<p><a href="{{.URL}}">{{.Text}}</a></p>{{end}}
</main></body></html>
`))

// renderPage renders d with the Guard's brand.
func (g *Guard) renderPage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	d.Brand = g.ProductName
	if d.Brand == "" {
		d.Brand = "Gatehouse"
	}
	renderPage(w, r, status, d)
}

// pageT translates an English text with arguments into the browser's language.
func pageT(r *http.Request, msg string, args ...any) string {
	return i18n.T(i18n.FromRequest(r, ""), msg, args...)
}

// renderPage writes a page in the browser's language (Accept-Language; i18n): Title,
// Message and the link texts are English catalog texts, or already translated (pageT).
func renderPage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	d.Lang = i18n.FromRequest(r, "")
	d.Title, d.Message, d.LinkText = i18n.Text(d.Lang, d.Title), i18n.Text(d.Lang, d.Message), i18n.Text(d.Lang, d.LinkText)
	d.LogOut, d.CancelText = i18n.T(d.Lang, "Log out"), i18n.T(d.Lang, "Cancel")
	for i := range d.Links {
		d.Links[i].Text = i18n.Text(d.Lang, d.Links[i].Text)
	}
	h := w.Header()
	h.Set("Content-Language", d.Lang)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = page.Execute(w, d)
}

// secondFactorPage answers a browser whose step-up login ended without a multi-factor login:
// 403, with what to do — add a second factor on the portal's account page (a passkey today),
// then try the page again. email, when known, names the account.
func (g *Guard) secondFactorPage(w http.ResponseWriter, r *http.Request, returnTo, email string) {
	d := pageData{Title: "A second factor is needed"}
	if g.Provider.PasskeysEnabled() {
		d.Message = pageT(r, "This page needs a login with a second factor, and your account has none yet. Add one on your account page — a passkey: your fingerprint, face, device PIN or a security key — then try again.")
		if email != "" {
			d.Message = pageT(r, "This page needs a login with a second factor, and your account (%s) has none yet. Add one on your account page — a passkey: your fingerprint, face, device PIN or a security key — then try again.", email)
		}
		d.Links = []pageLink{{URL: g.Provider.Issuer + "/", Text: "Add a passkey on your account page"}, {URL: returnTo, Text: "Try again"}}
	} else {
		d.Message = pageT(r, "This page needs a login with a second factor, and your account has none. This server cannot offer one yet: ask your administrator.")
		if email != "" {
			d.Message = pageT(r, "This page needs a login with a second factor, and your account (%s) has none. This server cannot offer one yet: ask your administrator.", email)
		}
		d.Links = []pageLink{{URL: returnTo, Text: "Try again"}}
	}
	d.Links = append(d.Links, pageLink{URL: g.LogoutPath, Text: "Log in as someone else"})
	g.renderPage(w, r, http.StatusForbidden, d)
}
