// Package portalkit is what the portal's handler packages share and nothing else: rendering
// pages with the brand, the method chooser and a CSRF token; the cross-origin protection of
// state-changing routes; form and JSON parsing; the short-lived cookies of the login flows;
// looking up and starting sessions (with the second-factor step); mapping the identity
// core's errors to pages and JSON API errors; return_to validation. It registers no route of
// its own: the handlers are handlers/login (login page, logout, session API, static files),
// handlers/login/{password,codes,magiclink,recovery,passkey,social} (one login method each),
// handlers/signup and handlers/account, each with its own Mount.
//
// Every state-changing endpoint is POST-only (PATCH or DELETE in the JSON API) and protected
// twice against cross-site requests: net/http's CrossOriginProtection (Sec-Fetch-Site /
// Origin) for all of them (HandleChange), plus a CSRF token for forms (Form); the JSON API
// accepts only application/json bodies, which browsers cannot send cross-origin without a
// CORS preflight that Gatehouse never grants. Redirect targets (return_to) must be local
// paths (web.LocalPath). The package does not import Caddy.
package portalkit

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/text/language"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Kit is the shared part of the portal's handlers. One Kit serves every handler package of
// a portal. Every field is required except Logger (nil: no logs; set when the first route
// is registered).
type Kit struct {
	// The identity core (deps.go).
	Sessions     Sessions
	SecondFactor SecondFactor
	Channels     Channels
	Passkeys     PasskeysOn
	Social       Providers

	// Cookie carries the session secret.
	Cookie    *session.Manager
	CSRF      *web.CSRF
	Templates *ui.Templates
	Brand     ui.Brand
	// Settings, if set, are the runtime settings: the brand's product name, the login
	// page's methods and their order come from its snapshot at each request.
	Settings *settings.View
	// Base is the path prefix of the portal (the issuer URL's path, "" at the root).
	Base string
	// Locale is the deployment's default page language (i18n; "" means English).
	Locale string
	// ClientIP returns the request's client IP as determined by Caddy (trusted_proxies aware).
	ClientIP func(*http.Request) string
	Logger   *slog.Logger

	once   sync.Once
	origin *http.CrossOriginProtection
}

func (k *Kit) setup() {
	if k.Logger == nil {
		k.Logger = slog.New(slog.DiscardHandler)
	}
	k.origin = http.NewCrossOriginProtection()
	k.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.Fail(w, r, http.StatusForbidden, "Request refused", "This request came from another site. Go back, reload the page and try again.", "cross_origin")
	}))
}

// Handle registers f for method and path (below Base) on mux, without the cross-origin
// check: for safe methods, and for the callbacks that other sites post to.
func (k *Kit) Handle(mux *http.ServeMux, method, path string, f http.HandlerFunc) {
	k.once.Do(k.setup)
	mux.HandleFunc(method+" "+k.Base+path, f)
}

// HandleChange registers a state-changing route: requests another site sent are refused
// with 403 before f runs.
func (k *Kit) HandleChange(mux *http.ServeMux, method, path string, f http.HandlerFunc) {
	k.once.Do(k.setup)
	mux.Handle(method+" "+k.Base+path, k.origin.Handler(f))
}

// ProtectChange wraps f in the cross-origin protection of HandleChange, for a route that is
// registered with Handle and dispatches to f only for its state-changing requests.
func (k *Kit) ProtectChange(f http.HandlerFunc) http.Handler {
	k.once.Do(k.setup)
	return k.origin.Handler(f)
}

// Page renders a page with a CSRF token (setting the CSRF cookie when the browser has none).
// title and errMsg are English catalog texts, shown in the request's language (Lang).
func (k *Kit) Page(w http.ResponseWriter, r *http.Request, status int, name, title, errMsg string, data any) {
	k.Render(w, r, status, name, title, errMsg, k.CSRF.Token(w, r), data)
}

// Lang returns the language of the request's pages and messages: ui_locales (the request's
// own or the one its authorization request carried), Accept-Language, then Locale.
func (k *Kit) Lang(r *http.Request) string { return i18n.FromRequest(r, k.Locale) }

// T translates the English text msg into the request's language (i18n.T).
func (k *Kit) T(r *http.Request, msg string, args ...any) string {
	return i18n.T(k.Lang(r), msg, args...)
}

// Render writes a page with the given CSRF token ("" for a page without forms that need
// one: it then sets no cookie).
func (k *Kit) Render(w http.ResponseWriter, r *http.Request, status int, name, title, errMsg, csrf string, data any) {
	web.SecurityHeaders(w.Header())
	lang := k.Lang(r)
	brand, passkeys := k.Brand, k.Passkeys.Enabled()
	if k.Settings != nil {
		e := k.Settings.Load().Effective
		brand.ProductName = e.ProductName
		passkeys = passkeys && e.Enabled(settings.MethodPasskey)
	}
	p := ui.Page{Brand: brand, Base: k.Base, Lang: lang, Title: i18n.Text(lang, title), CSRF: csrf, Error: i18n.Text(lang, errMsg), Data: data,
		Passkeys: passkeys, Methods: k.Methods(), Social: k.SocialButtons()}
	if err := k.Templates.Render(w, status, name, p); err != nil {
		k.Logger.Error("render page", "page", name, "error", err)
	}
}

// ErrorData is the data of the error page: Link, when set, is the page's way on (LinkText
// its words), such as the login page to try again.
type ErrorData struct{ Message, Code, Link, LinkText string }

// Fail renders the error page.
func (k *Kit) Fail(w http.ResponseWriter, r *http.Request, status int, title, msg, code string) {
	k.Page(w, r, status, "error", title, "", ErrorData{Message: i18n.Text(k.Lang(r), msg), Code: code})
}

// Methods says which login methods and account features the pages offer.
func (k *Kit) Methods() ui.Methods {
	c := k.Channels
	m := ui.Methods{EmailCode: c.MethodEnabled(otp.MethodEmailCode), MagicLink: c.MethodEnabled(otp.MethodMagicLink),
		SMSCode: c.MethodEnabled(otp.MethodSMSCode), Recovery: c.CanEmail() || c.CanSMS(),
		VerifyEmail: c.CanEmail(), VerifyPhone: c.CanSMS(), Order: ui.DefaultOrder}
	if k.Settings != nil {
		m.Order = loginOrder(k.Settings.Load().Effective.LoginMethods)
	}
	return m
}

// loginOrder is the order of the login page's other ways in, from the enabled methods'
// order: the social buttons, which the Caddyfile's providers bring, come last when the
// order does not place them.
func loginOrder(methods []string) []string {
	var out []string
	for _, m := range methods {
		if slices.Contains(ui.DefaultOrder, m) {
			out = append(out, m)
		}
	}
	if !slices.Contains(out, settings.MethodSocial) {
		out = append(out, settings.MethodSocial)
	}
	return out
}

// SocialButtons are the buttons of the configured social-login providers.
func (k *Kit) SocialButtons() []ui.SocialButton {
	var out []ui.SocialButton
	for _, sp := range k.Social.Configured() {
		label := sp.Label
		if label == "" {
			label = sp.Name
		}
		out = append(out, ui.SocialButton{Name: sp.Name, Label: label})
	}
	return out
}

// Form parses a page form and checks its CSRF token, answering the error itself.
func (k *Kit) Form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		k.Fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return nil, false
	}
	if !k.CSRF.Check(r, f.Get("csrf_token")) {
		k.Fail(w, r, http.StatusForbidden, "Request refused", "Your form expired. Go back, reload the page and try again.", "csrf")
		return nil, false
	}
	return f, true
}

// Decode reads a JSON API request body into v, answering 400 invalid_request itself.
func (k *Kit) Decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := web.DecodeJSON(w, r, v); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return false
	}
	return true
}

// ReturnTo validates a return_to value: a local path, else "".
func ReturnTo(v string) string { return web.LocalPath(v) }

// AfterLogin is where a login goes: target if it is a local path, else the account page.
func (k *Kit) AfterLogin(target string) string {
	if t := ReturnTo(target); t != "" {
		return t
	}
	return k.Base + "/"
}

// LoginURL returns the login page URL that comes back to target.
func (k *Kit) LoginURL(target string) string {
	if target == "" {
		return k.Base + "/login"
	}
	return k.Base + "/login?return_to=" + url.QueryEscape(target)
}

// PreferredLanguage returns the browser's first Accept-Language tag (claim language), or "".
func PreferredLanguage(r *http.Request) string {
	v := r.Header.Get("Accept-Language")
	if v == "" || len(v) > 256 {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(v)
	if err != nil || len(tags) == 0 || tags[0] == language.Und {
		return ""
	}
	return tags[0].String()
}

// Capitalize upper-cases the first letter of an error text for a sentence.
func Capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// Minutes says a code's or link's lifetime in words ("10 minutes").
func Minutes(d time.Duration) string { return MinutesIn(i18n.Default, d) }

// MinutesIn says a code's or link's lifetime in words in lang ("10 Minuten").
func MinutesIn(lang string, d time.Duration) string {
	return i18n.T(lang, "%d minutes", max(int(d.Round(time.Minute)/time.Minute), 1))
}

// Minutes says a code's or link's lifetime in the request's language.
func (k *Kit) Minutes(r *http.Request, d time.Duration) string { return MinutesIn(k.Lang(r), d) }

// LoginData is the data of the login page (the method chooser with the password form),
// which the login page and the password form both render.
type LoginData struct {
	ReturnTo      string
	Email         string
	SignupEnabled bool
}
