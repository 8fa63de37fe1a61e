package module

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gatehouse-dev/gatehouse/handlers/protect"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/policy"
)

func init() {
	caddy.RegisterModule(Protect{})
	caddy.RegisterModule(Sanitize{})
}

// Protect is the `gatehouse_protect` HTTP handler: it lets a request through only with a
// valid Gatehouse access token (Authorization: Bearer), a user's personal access token or
// app password (see AllowAppPasswords), or its own session cookie that
// satisfies the route's requirements, strips client-sent identity headers and Gatehouse
// cookies, injects identity headers and sets placeholders: {http.auth.user.id} and
// {gatehouse.user.id}, {gatehouse.user.email}, {gatehouse.user.name},
// {gatehouse.user.groups}, {gatehouse.token.scope}, ... (see README). Use Caddy matchers to
// choose the routes it applies to.
type Protect struct {
	// Client is the client used for browser logins; its redirect URIs must include
	// <site origin>/.gatehouse/callback. Default: the app's only client, if it has exactly
	// one. With no client and no audience, a gatehouse app with several clients, or none,
	// is refused: the route would accept a token issued to any client. With an audience
	// and no client, browsers get 401 like API clients.
	Client string `json:"client,omitempty"`
	// Scopes must all be granted to the token.
	Scopes []string `json:"scopes,omitempty"`
	// Groups: the user must be in at least one.
	Groups []string `json:"groups,omitempty"`
	// Audience: the token's aud must contain one of these (default: the client; see Client
	// for when there is none).
	Audience []string `json:"audience,omitempty"`
	// MFA requires a multi-factor login: a passkey login, or a password confirmed with a
	// passkey. A browser without one is sent to confirm with a passkey (step-up); an API
	// client gets 401 insufficient_user_authentication (RFC 9470).
	MFA bool `json:"mfa,omitempty"`
	// MaxAge is the oldest login the route accepts (RFC 9470 max_age): a browser whose login
	// is older logs in again, an API client gets 401 insufficient_user_authentication with
	// max_age. App passwords and personal access tokens are refused (they record no login).
	MaxAge caddy.Duration `json:"max_age,omitempty"`
	// ACR is the authentication context class the route requires: "aal2" (a multi-factor
	// login; the same as MFA).
	ACR string `json:"acr,omitempty"`
	// Journey is a journey (gatehouse.journeys) that a browser login to this route runs
	// instead of the built-in login (journey=<name> on the authorization request): profile
	// completion, terms acceptance. It runs when the browser has no session for the route;
	// a browser that already has one is not sent through it again.
	Journey string `json:"journey,omitempty"`
	// MFAAllowsAppCredentials lets app passwords and personal access tokens through a route
	// with MFA (they are never multi-factor: by default such a route refuses them).
	MFAAllowsAppCredentials bool `json:"mfa_allows_app_credentials,omitempty"`
	// AllowAppPasswords accepts app passwords as HTTP Basic credentials (user:app-password)
	// on the route, for WebDAV, CalDAV and git clients. Without it a Basic header is never
	// checked. Personal access tokens (Bearer gh_pat_...) are accepted on every route.
	AllowAppPasswords bool `json:"allow_app_passwords,omitempty"`
	// Headers are injected into the upstream request: name -> value with {gatehouse.*}
	// placeholders. They add to (or, same name, replace) the defaults X-User-Id,
	// X-User-Email, X-User-Name, X-User-Groups; an empty value removes a default. A header
	// whose value is empty for a user is removed from the request, never passed through.
	Headers map[string]string `json:"headers,omitempty"`
	// HeaderProfile injects the headers an application documents for authentication by a
	// reverse proxy instead of the defaults: grafana, gitea, forgejo, paperless,
	// oauth2-proxy, authelia (see README, "Header profiles"). Headers add to it.
	HeaderProfile string `json:"header_profile,omitempty"`
	// NoDefaultHeaders disables the default headers.
	NoDefaultHeaders bool `json:"no_default_headers,omitempty"`
	// StripHeaders are removed from client requests in addition to the built-in list.
	StripHeaders []string `json:"strip_headers,omitempty"`
	// CookieName is the base name of the session cookie (default "auth":
	// gatehouse_auth, or __Host-gatehouse_auth on https).
	CookieName string `json:"cookie_name,omitempty"`
	// CacheSize bounds the verified-credential cache (default 10000).
	CacheSize int `json:"cache_size,omitempty"`
	// Require are claim expressions and shorthands that must all hold (see Require).
	Require []Require `json:"require,omitempty"`
	// Route names the route in the metrics (the route label of
	// gatehouse_protect_decisions_total and gatehouse_protect_cache_lookups_total; default
	// "default"). Keep the names few: each is a set of time series.
	Route string `json:"route,omitempty"`
	// Assertion adds a signed identity assertion to the upstream request (protect_assertion.go).
	Assertion *AssertionConfig `json:"assertion,omitempty"`
	// CloseOnRevoke ends a request still open when its credential is revoked (a logout, a
	// revoked grant or token, a disabled user): a WebSocket or a streamed response is closed
	// within about a second (see protect.Guard.WatchRevocation). Without it, an open
	// connection stays open; only its next request is refused.
	CloseOnRevoke bool `json:"close_on_revoke,omitempty"`

	guard *protect.Guard
}

// CaddyModule returns the Caddy module information.
func (Protect) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gatehouse_protect", New: func() caddy.Module { return new(Protect) }}
}

// Provision builds the guard.
func (p *Protect) Provision(ctx caddy.Context) error {
	appIface, err := ctx.App("gatehouse")
	if err != nil {
		return fmt.Errorf("gatehouse_protect needs the gatehouse app (global option `gatehouse { issuer ... }`): %w", err)
	}
	app := appIface.(*App)
	client, err := p.defaultClient(ctx, app)
	if err != nil {
		return err
	}
	if client == "" {
		ctx.Logger().Warn("gatehouse_protect has no client: browsers get 401 instead of a login page; set `client <id>` for browser logins")
	}
	specs, err := p.headerSpecs()
	if err != nil {
		return fmt.Errorf("gatehouse_protect: %w", err)
	}
	aud := p.Audience
	if len(aud) == 0 && client != "" {
		aud = []string{client}
	}
	if p.Journey != "" {
		if app.journeys == nil {
			return fmt.Errorf("gatehouse_protect: journey %q: no journeys are defined (add `journey %s { ... }` to the gatehouse option)", p.Journey, p.Journey)
		}
		if _, ok := app.journeys.Journey(p.Journey); !ok {
			return fmt.Errorf("gatehouse_protect: journey %q is not defined in the gatehouse option", p.Journey)
		}
		if client == "" {
			return fmt.Errorf("gatehouse_protect: journey %q needs a client for browser logins (`client <id>`)", p.Journey)
		}
	}
	keys := app.portal.keys
	p.guard = &protect.Guard{Journey: p.Journey,
		Provider: app.provider, ClientID: client, ProductName: app.portal.brand.ProductName,
		Rule:    policy.Rule{Scopes: p.Scopes, Groups: p.Groups, Audience: aud, MFA: p.MFA || p.ACR == idp.ACRMultiFactor},
		MaxAge:  time.Duration(p.MaxAge),
		Headers: specs, Names: app.names, StripHeaders: append(slices.Clone(p.StripHeaders), HeaderProfileStrip(p.HeaderProfile)...), CookieName: p.CookieName, CacheSize: p.CacheSize,
		CookieHashKey: keys.DeriveKey("protect-cookie-hmac"), CookieBlockKey: keys.DeriveKey("protect-cookie-aes"),
		CSRFKey: keys.DeriveKey("protect-csrf"), SessionKey: keys.DeriveKey("protect-session-v1"),
		Refreshes: app.refreshes, State: requestVars, Logger: ctx.Slogger(), Metrics: app.metrics.route(p.routeName()),
		AllowAppPasswords: p.AllowAppPasswords, MFAAllowsAppCredentials: p.MFAAllowsAppCredentials,
		CredentialAudience: p.Audience, ClientIP: clientIP, Assertion: p.asserter(app),
		Require: p.requirements(),
	}
	return p.guard.Init()
}

// routeName is the route label of the handler's metrics.
func (p *Protect) routeName() string {
	if p.Route == "" {
		return "default"
	}
	return p.Route
}

// defaultClient returns the client the handler logs browsers in through, refusing a
// configuration that would accept an access token issued to any client: with no client and
// no audience, the route's audience is the app's only client, and without exactly one there
// is none to default to.
func (p *Protect) defaultClient(ctx caddy.Context, app *App) (string, error) {
	if p.Client != "" {
		if _, err := app.provider.Client(ctx, p.Client); err != nil {
			return "", fmt.Errorf("gatehouse_protect.client: client %q is not defined in the gatehouse app: %w", p.Client, err)
		}
		return p.Client, nil
	}
	cs := app.provider.Clients()
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	if msg := p.defaultClientProblem(ids); msg != "" {
		return "", errors.New("gatehouse_protect: " + msg)
	}
	if len(cs) == 1 {
		return cs[0].ID, nil
	}
	return "", nil // an audience and no client: API tokens for the audience only, browsers get 401
}

// defaultClientProblem says why a handler with no client and no audience cannot default to
// one of the app's configured clients (ids), or "" when it can or need not.
func (p *Protect) defaultClientProblem(ids []string) string {
	if p.Client != "" || len(p.Audience) > 0 || len(ids) == 1 {
		return ""
	}
	if len(ids) == 0 {
		return "no client and no audience would accept an access token issued to any client " +
			"(those registered through the admin API included): set `audience <client ID or resource URI>` to the tokens this " +
			"route accepts, or `client <id>` with a client defined in the gatehouse app"
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return "no client and no audience, and the gatehouse app has several clients (" + strings.Join(ids, ", ") + "): " +
		"set `client <id>` (browsers log in through it, and only its tokens are accepted) or `audience <client ID or " +
		"resource URI>` (only tokens for that audience are accepted; browsers get 401)"
}

// requestVars returns Caddy's per-request variables, which the Gatehouse handlers of a
// request share.
func requestVars(r *http.Request) map[string]any {
	m, _ := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	return m
}

func (p *Protect) headerSpecs() ([]protect.HeaderSpec, error) {
	byName := map[string]string{}
	if hp, ok := headerProfiles[p.HeaderProfile]; ok {
		for name, tmpl := range hp.inject {
			byName[http.CanonicalHeaderKey(name)] = tmpl
		}
	} else if p.HeaderProfile != "" {
		return nil, errors.New(HeaderProfileProblem(p.HeaderProfile))
	} else if !p.NoDefaultHeaders {
		for _, h := range protect.DefaultHeaders {
			byName[http.CanonicalHeaderKey(h.Name)] = h.Template
		}
	}
	for name, tmpl := range p.Headers {
		byName[http.CanonicalHeaderKey(name)] = tmpl
	}
	var specs []protect.HeaderSpec
	for name, tmpl := range byName {
		if tmpl != "" {
			specs = append(specs, protect.HeaderSpec{Name: name, Template: tmpl})
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return protect.CompileHeaders(specs)
}

// Validate checks the options that do not need the app (Check).
func (p *Protect) Validate() error {
	v := NewValidator()
	p.Check(v, "gatehouse_protect")
	return v.Err()
}

// ServeHTTP guards the request and passes it on when allowed.
func (p *Protect) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	id := p.guard.Serve(w, r)
	if id == nil {
		return nil
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		// One provider answers {http.auth.user.id} and {gatehouse.*} on demand: cheaper
		// than setting each value on every request.
		repl.Map(id.Lookup)
	}
	if p.CloseOnRevoke {
		var stop func()
		r, stop = p.guard.WatchRevocation(r, id)
		defer stop()
	}
	return next.ServeHTTP(w, r)
}

// Sanitize is the `gatehouse_sanitize` HTTP handler: it removes client-sent identity
// headers and Gatehouse cookies (every name any gatehouse handler of the configuration
// strips or injects) from requests that no gatehouse_protect handled. On a site where
// gatehouse_protect guards only some routes, requests outside them must not carry forged
// identity headers to the upstream either: the Caddyfile adds it after every
// gatehouse_protect with a matcher; when gatehouse_protect sits inside handle or route
// blocks, put `gatehouse_sanitize` at the top of the site (it runs first and leaves the
// credentials for the gatehouse_protect handlers that follow).
type Sanitize struct {
	// StripHeaders are removed in addition to the built-in list (give the names the
	// gatehouse_protect handlers inject or strip).
	StripHeaders []string `json:"strip_headers,omitempty"`
	// InsecureAllowNonCanonicalPaths turns off the refusal of request paths that are not
	// canonical (dot segments, "//", encoded slashes or dots, ";", backslashes, ...: see
	// package reqpath) for this request and every Gatehouse handler after this one: put on
	// the sanitizer at the top of a site (where the Caddyfile puts it), it opts the whole site
	// out. By default every Gatehouse handler answers such a request with 400 before any
	// decision, because Caddy's matchers judge a cleaned copy of the path while the upstream
	// receives the raw one. Only for upstreams that need such paths, and only with rules that
	// do not depend on the path. There is no per-route form: a route cannot know which other
	// route a path like /public/..;/admin is meant for.
	InsecureAllowNonCanonicalPaths bool `json:"insecure_allow_noncanonical_paths,omitempty"`

	s *protect.Sanitizer
}

// CaddyModule returns the Caddy module information.
func (Sanitize) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gatehouse_sanitize", New: func() caddy.Module { return new(Sanitize) }}
}

// Provision prepares the sanitizer with the header names of every gatehouse handler of the
// configuration.
func (s *Sanitize) Provision(ctx caddy.Context) error {
	appIface, err := ctx.App("gatehouse")
	if err != nil {
		return fmt.Errorf("gatehouse_sanitize needs the gatehouse app (global option `gatehouse { issuer ... }`): %w", err)
	}
	app := appIface.(*App)
	keys := app.portal.keys
	endpoints := &protect.Guard{Provider: app.provider, Names: app.names, ProductName: app.portal.brand.ProductName,
		CookieHashKey: keys.DeriveKey("protect-cookie-hmac"), CookieBlockKey: keys.DeriveKey("protect-cookie-aes"),
		CSRFKey: keys.DeriveKey("protect-csrf"), SessionKey: keys.DeriveKey("protect-session-v1"),
		State: requestVars, Logger: ctx.Slogger()}
	if err := endpoints.Init(); err != nil {
		return err
	}
	s.s = &protect.Sanitizer{Names: app.names, StripHeaders: s.StripHeaders, State: requestVars, Endpoints: endpoints,
		InsecureAllowNonCanonicalPaths: s.InsecureAllowNonCanonicalPaths}
	s.s.Init()
	if s.InsecureAllowNonCanonicalPaths {
		ctx.Logger().Warn("gatehouse_sanitize: insecure_allow_noncanonical_paths is set: paths with dot segments, " +
			"encoded slashes or path parameters reach the upstream, which may read them as another path than a policy judged")
	}
	return nil
}

// ServeHTTP refuses a non-canonical path, serves the site's /.gatehouse/ endpoints, or
// strips the request unless a gatehouse_protect already handled it and passes it on.
func (s *Sanitize) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if s.s.Serve(w, r) {
		return nil
	}
	return next.ServeHTTP(w, r)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Sanitize)(nil)
	_ caddyhttp.MiddlewareHandler = (*Sanitize)(nil)
	_ caddy.Provisioner           = (*Protect)(nil)
	_ caddy.Validator             = (*Protect)(nil)
	_ caddyhttp.MiddlewareHandler = (*Protect)(nil)
)
