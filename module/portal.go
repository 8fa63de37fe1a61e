package module

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gatehouse-dev/gatehouse/handlers/account"
	"github.com/gatehouse-dev/gatehouse/handlers/console"
	"github.com/gatehouse-dev/gatehouse/handlers/device"
	journeyh "github.com/gatehouse-dev/gatehouse/handlers/journey"
	"github.com/gatehouse-dev/gatehouse/handlers/login"
	"github.com/gatehouse-dev/gatehouse/handlers/login/codes"
	"github.com/gatehouse-dev/gatehouse/handlers/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/handlers/login/passkey"
	"github.com/gatehouse-dev/gatehouse/handlers/login/password"
	"github.com/gatehouse-dev/gatehouse/handlers/login/recovery"
	"github.com/gatehouse-dev/gatehouse/handlers/login/secondfactor"
	"github.com/gatehouse-dev/gatehouse/handlers/login/social"
	"github.com/gatehouse-dev/gatehouse/handlers/oidc"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/protect"
	"github.com/gatehouse-dev/gatehouse/handlers/signup"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

func init() {
	caddy.RegisterModule(Portal{})
}

// Portal is the `gatehouse_portal` HTTP handler. Put it on the issuer's site: it serves the
// OpenID Provider endpoints (discovery, JWKS, authorize, token, userinfo), the hosted login,
// sign-up, logout and account pages and the JSON authentication API under the issuer's path.
// Requests for other paths go to the next handler; requests with a non-canonical path (see
// Protect) are refused with 400. A request under the issuer's path that no later handler
// answers (Caddy would send an empty 200) gets the portal's "Page not found" page with 404,
// or 405 if the portal serves the path with another method.
type Portal struct {
	mux      *http.ServeMux
	base     string // the issuer's path, "" for the root
	notFound func(http.ResponseWriter, *http.Request)
}

// CaddyModule returns the Caddy module information.
func (Portal) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gatehouse_portal", New: func() caddy.Module { return new(Portal) }}
}

// Provision mounts the handlers of the gatehouse app.
func (p *Portal) Provision(ctx caddy.Context) error {
	appIface, err := ctx.App("gatehouse")
	if err != nil {
		return fmt.Errorf("gatehouse_portal needs the gatehouse app (global option `gatehouse { issuer ... }`): %w", err)
	}
	app := appIface.(*App)
	st := app.portal
	logger := ctx.Slogger()
	p.mux = http.NewServeMux()
	core := app.provider
	op := &oidc.Handler{OAuth: core.OAuth, Sessions: core.Sessions, MFA: core.MFA, Passkeys: core.Passkey, Tokens: core.Verifier,
		Keys: core.Keys, Issuer: core.Issuer, Now: core.Now, Cookie: st.sessions, CSRF: st.csrf, Templates: st.templates, Brand: st.brand,
		Base: st.base, Locale: st.locale, ClientIP: clientIP, Logger: logger,
		Approval: core.Approval, ApprovalOTP: app.Approval.allowsOTP(), RequirePushed: app.PAR.Required}
	if core.Registration.Enabled() {
		op.Registration = core.OAuth
	}
	kit, jh := mountLogin(p.mux, app, logger)
	if jh != nil {
		op.Journeys = jh
	}
	op.Mount(p.mux)
	mountHealth(p.mux, st.base, app.store, logger)
	mountAssertionKeys(p.mux, st)
	api := mountAdminV1(p.mux, app)
	// The console calls the API in-process for every page and form (handlers/console).
	(&console.Handler{Kit: kit, API: api}).Mount(p.mux)
	p.base = st.base
	p.notFound = func(w http.ResponseWriter, r *http.Request) {
		web.SecurityHeaders(w.Header())
		lang := i18n.FromRequest(r, st.locale)
		page := ui.Page{Brand: st.brand, Base: st.base, Lang: lang, Title: i18n.T(lang, "Page not found"),
			Data: portalkit.ErrorData{Message: i18n.T(lang, "There is no page at this address."), Code: "not_found"}}
		if err := st.templates.Render(w, http.StatusNotFound, "error", page); err != nil {
			logger.Error("render page", "page", "error", "error", err)
		}
	}
	return nil
}

// readyTimeout bounds the readiness check's store ping.
const readyTimeout = 2 * time.Second

// mountHealth mounts the liveness (<base>/healthz: 200 while the process serves) and
// readiness (<base>/readyz: 200 when the store answers a ping within readyTimeout, else
// 503) endpoints. The answers say nothing of the store's error, which is logged.
func mountHealth(mux *http.ServeMux, base string, st store.Store, logger *slog.Logger) {
	write := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body + "\n"))
	}
	mux.HandleFunc("GET "+base+"/healthz", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET "+base+"/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ping(ctx, st); err != nil {
			logger.Warn("readiness: the store does not answer", "error", err)
			write(w, http.StatusServiceUnavailable, `{"status":"unavailable","reason":"the store does not answer"}`)
			return
		}
		write(w, http.StatusOK, `{"status":"ok"}`)
	})
}

// mountLogin mounts the hosted login, sign-up, logout and account pages and the JSON
// authentication API: one handler per login method plus sign-up and the account, all
// sharing one portalkit.Kit (rendering, CSRF, cookies, sessions).
func mountLogin(mux *http.ServeMux, app *App, logger *slog.Logger) (*portalkit.Kit, *journeyh.Handler) {
	core, st := app.provider, app.portal
	kit := &portalkit.Kit{Sessions: core.Sessions, SecondFactor: core.MFA, Channels: core.Codes, Passkeys: core.Passkey,
		Social: core.Social, Cookie: st.sessions, CSRF: st.csrf, Templates: st.templates, Brand: st.brand, Base: st.base,
		Locale: st.locale, ClientIP: clientIP, Logger: logger, Settings: app.settings}
	acct := &account.Handler{Kit: kit, Accounts: core.Accounts, Verification: core.Verification, Passkeys: core.Passkey,
		Identities: core.Social, Apps: core.OAuth, UserSessions: core.Sessions,
		TOTP: core.TOTP, RecoveryCodes: core.RecoveryCodes, Factors: core.MFA,
		PasskeysNeedDomain: passkeysNeedDomain(app), AppCredentials: core.AppCredentials,
		EditableFields: app.Account.editable(), AllowDelete: app.Account.AllowDelete}
	for _, h := range []interface{ Mount(*http.ServeMux) }{
		&login.Handler{Kit: kit, Signup: core.Signup, IDTokens: core.Verifier, Clients: core.OAuth},
		&password.Handler{Kit: kit, Password: core.Password, Signup: core.Signup},
		&codes.Handler{Kit: kit, Email: core.EmailCode, SMS: core.SMSCode, Login: core.CodeLogin},
		&magiclink.Handler{Kit: kit, MagicLink: core.MagicLink},
		&recovery.Handler{Kit: kit, Recovery: core.Recovery},
		&passkey.Handler{Kit: kit, Passkeys: core.Passkey, Pending: core.MFA},
		&secondfactor.Handler{Kit: kit, TOTP: core.TOTP, Recovery: core.RecoveryCodes, Pending: core.MFA},
		&social.Handler{Kit: kit, Social: core.Social, AccountError: acct.RenderError},
		&signup.Handler{Kit: kit, Signup: core.Signup, Passkeys: core.Passkey, Verification: core.Verification},
		&device.Handler{Kit: kit, Devices: core.OAuth},
		acct,
	} {
		h.Mount(mux)
	}
	if app.journeys == nil {
		return kit, nil
	}
	jh := &journeyh.Handler{Kit: kit, Engine: app.journeys, OAuth: core.OAuth, Issuer: core.Issuer,
		ApprovalOTP: app.Approval.allowsOTP()}
	jh.Mount(mux)
	return kit, jh
}

// ServeHTTP serves the portal's routes and passes any other request on.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// The portal's routes are chosen by path too: refuse what a later handler or upstream
	// could read as another path (THREATS PX-13).
	if !protect.CheckPath(w, r, requestVars, false) {
		return nil
	}
	if _, pattern := p.mux.Handler(r); pattern == "" {
		if r.URL.Path != p.base && !strings.HasPrefix(r.URL.Path, p.base+"/") {
			return next.ServeHTTP(w, r)
		}
		// Under the portal's path: if nothing after the portal answers, say so with a 404
		// page rather than Caddy's empty 200.
		tw := &answerTracker{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
		if err := next.ServeHTTP(tw, r); err != nil || tw.answered {
			return err
		}
		if p.otherMethod(r) {
			p.mux.ServeHTTP(w, r) // 405 with the Allow header
			return nil
		}
		p.notFound(w, r)
		return nil
	}
	// Served through the mux (not the handler Handler returned) so that r.PathValue works.
	p.mux.ServeHTTP(w, r)
	return nil
}

// otherMethod reports whether the portal serves r's path with another method.
func (p *Portal) otherMethod(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := p.mux.Handler(r2); pattern != "" {
			return true
		}
	}
	return false
}

// answerTracker records whether a handler started a response.
type answerTracker struct {
	*caddyhttp.ResponseWriterWrapper
	answered bool
}

func (t *answerTracker) WriteHeader(status int) {
	t.answered = true
	t.ResponseWriterWrapper.WriteHeader(status)
}

func (t *answerTracker) Write(b []byte) (int, error) {
	t.answered = true
	return t.ResponseWriterWrapper.Write(b)
}

func (t *answerTracker) ReadFrom(r io.Reader) (int64, error) {
	t.answered = true
	return t.ResponseWriterWrapper.ReadFrom(r)
}

func (t *answerTracker) FlushError() error {
	t.answered = true
	return http.NewResponseController(t.ResponseWriter).Flush()
}

func (t *answerTracker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	t.answered = true
	return http.NewResponseController(t.ResponseWriter).Hijack()
}

// clientIP returns Caddy's client IP for the request: the remote address, or the forwarded
// address only when the peer is one of the server's trusted_proxies.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Portal)(nil)
	_ caddyhttp.MiddlewareHandler = (*Portal)(nil)
)

// passkeysNeedDomain tells whether passkeys are on in the configuration but cannot work: the
// issuer's host is an IP address and no rp_id is set (WebAuthn needs a domain name).
func passkeysNeedDomain(a *App) bool {
	if a.Passkeys.RPID != "" || (len(a.Login) > 0 && !hasString(a.Login, "passkey")) {
		return false
	}
	u, err := url.Parse(a.Issuer)
	return err == nil && net.ParseIP(u.Hostname()) != nil
}
