// Package protect is the gateway half of Gatehouse: a Guard checks one route's requests and
// prepares the ones it lets through for the upstream.
//
// For every request, before anything else, it deletes the identity headers a client could
// forge (any case, '-' or '_', duplicates, names listed in Connection) and every Gatehouse
// cookie. It accepts an `Authorization: Bearer` access token, a user's personal access token
// (Bearer gh_pat_...) or app password (Basic, on routes that allow it; appcred.go), or its own
// session cookie, an
// opaque handle sealing the access and refresh tokens of a browser login (AES-256-GCM,
// seal.go): the browser can neither read nor redeem them.
// Tokens are verified locally — signature, type, issuer, lifetime, audience, the route's
// scopes and groups — and the result is cached per credential, so a client that reuses a
// token or cookie costs a map lookup; the in-memory revocation list is consulted on every
// request, so a logout takes effect at once. An expired access token in the cookie is
// refreshed in-process, once however many requests carry the cookie (cookie.go). A browser
// without a session is sent through the portal's authorization-code flow (PKCE, state and
// nonce held in a cookie) and back to the page it asked for; an API client gets 401
// (RFC 6750), a token lacking a scope 403 insufficient_scope.
//
// The package does not import Caddy: module/protect.go adapts it to a Caddy middleware and
// sets the placeholders from Identity.
package protect

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Default paths of the endpoints a Guard serves on the protected site.
const (
	DefaultCallbackPath = "/.gatehouse/callback"
	DefaultLogoutPath   = "/.gatehouse/logout"
)

// Guard protects a route. Set the exported fields, then call Init once.
type Guard struct {
	// Provider issues and verifies the tokens.
	Provider *idp.Provider
	// ClientID is the client used for browser logins ("" disables them: browsers get 401).
	ClientID string
	// Journey, if set, is the journey a browser login runs (journey=<name>).
	Journey string
	// ProductName brands the Guard's own pages (logout confirmation, errors) as the
	// portal's are (default "Gatehouse").
	ProductName string
	// Rule is what the route requires.
	Rule policy.Rule
	// Headers are injected into upstream requests (compiled by CompileHeaders).
	Headers []HeaderSpec
	// Names is the set of header names shared by the configuration's handlers (nil: a set of
	// its own); the Guard adds its injected and StripHeaders names to it.
	Names *Names
	// StripHeaders are removed from client requests, in addition to Names and the injected
	// headers.
	StripHeaders []string
	// CookieName is the base name of the session cookie ("auth" gives gatehouse_auth, or
	// __Host-gatehouse_auth on https).
	CookieName string
	// CallbackPath and LogoutPath are the Guard's own endpoints on the protected site.
	CallbackPath string
	LogoutPath   string
	// CookieHashKey and CookieBlockKey (32 bytes each) authenticate and encrypt the login
	// state cookie.
	CookieHashKey  []byte
	CookieBlockKey []byte
	// CSRFKey signs the logout form's token.
	CSRFKey []byte
	// SessionKey (32 bytes) seals the session cookie (AES-256-GCM, see seal.go); module
	// derives it from the key ring's shared secret with the label "protect-session-v1", so
	// every instance and every Guard of a configuration opens the others' cookies.
	SessionKey []byte
	// CacheSize bounds the verified-credential cache (default 10000 entries), and the
	// refreshed session cookies remembered (see cookie.go).
	CacheSize int
	// InsecureAllowNonCanonicalPaths turns off the refusal of non-canonical request paths
	// (see CheckPath) for this Guard and the Gatehouse handlers after it on the request.
	InsecureAllowNonCanonicalPaths bool
	// State returns the request's per-request value map (Caddy's request variables), shared
	// with the other Gatehouse handlers of the request; nil when there is none.
	State  func(*http.Request) map[string]any
	Logger *slog.Logger
	// Metrics are the route's pre-resolved counters (nil: none).
	Metrics *metrics.Route

	// AllowAppPasswords accepts app passwords as `Authorization: Basic` (user:password) on
	// the route; personal access tokens (Bearer gh_pat_...) are accepted on every route.
	AllowAppPasswords bool
	// MFAAllowsAppCredentials lets app passwords and personal access tokens through a route
	// whose Rule requires MFA (they are never multi-factor themselves).
	MFAAllowsAppCredentials bool
	// MaxAge, if positive, is the oldest login (auth_time) the route accepts: see maxage.go.
	MaxAge time.Duration
	// CredentialAudience is the route's audience as configured (not defaulted to the client):
	// app credentials carry no client, so only an explicit audience applies to them, matched
	// against their sites.
	CredentialAudience []string
	// ClientIP returns the request's client IP (Caddy's, trusted_proxies aware) for the
	// attempt limits of app credentials; nil: the remote address.
	ClientIP func(*http.Request) string

	// Assertion, when set, adds a signed identity assertion to every request let through
	// (assertion.go).
	Assertion *Asserter
	// Require are the route's claim expressions and shorthands, all of which must hold
	// (require.go).
	Require []Requirement

	// Refreshes are shared by the Guards of a configuration (NewRefreshes), so that two
	// routes with one client and cookie refresh a cookie once; nil: a set of its own.
	Refreshes *Refreshes

	codec     *securecookie.SecureCookie
	sealer    *sealer
	stripper  *stripper
	cache     *cache
	refreshes *Refreshes
	credRule  policy.Rule
	require   *requireSet
}

// Init prepares the Guard.
func (g *Guard) Init() error {
	if g.Provider == nil {
		return errors.New("protect: no provider")
	}
	if g.Logger == nil {
		g.Logger = slog.New(slog.DiscardHandler)
	}
	if g.CookieName == "" {
		g.CookieName = "auth"
	}
	if g.CallbackPath == "" {
		g.CallbackPath = DefaultCallbackPath
	}
	if g.LogoutPath == "" {
		g.LogoutPath = DefaultLogoutPath
	}
	if g.CacheSize == 0 {
		g.CacheSize = 10000
	}
	if len(g.CookieHashKey) != 32 || len(g.CookieBlockKey) != 32 || len(g.CSRFKey) == 0 {
		return errors.New("protect: cookie and CSRF keys are required")
	}
	sl, err := newSealer(g.SessionKey)
	if err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	g.sealer = sl
	g.codec = securecookie.New(g.CookieHashKey, g.CookieBlockKey)
	g.codec.SetSerializer(securecookie.JSONEncoder{})
	g.codec.MaxAge(int(loginTTL / time.Second))
	g.codec.MaxLength(8192)
	names := make([]string, 0, len(g.Headers)+len(g.StripHeaders))
	for _, h := range g.Headers {
		names = append(names, h.Name)
	}
	if g.Assertion != nil {
		if err := g.Assertion.Init(); err != nil {
			return err
		}
		names = append(names, g.Assertion.Header)
	}
	g.stripper = newStripper(g.Names, append(names, g.StripHeaders...))
	g.cache = newCache(g.CacheSize)
	if g.Metrics != nil {
		g.cache.hit, g.cache.miss = g.Metrics.CacheHit, g.Metrics.CacheMiss
	}
	if g.Provider.Keys != nil {
		g.cache.removals = g.Provider.Keys.Removals
	}
	g.credRule = policy.Rule{Scopes: g.Rule.Scopes, Groups: g.Rule.Groups, Audience: g.CredentialAudience,
		MFA: g.Rule.MFA && !g.MFAAllowsAppCredentials}
	if g.require, err = newRequireSet(g.Require, g.ClientIP); err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	g.refreshes = g.Refreshes
	if g.refreshes == nil {
		g.refreshes = NewRefreshes(g.CacheSize)
	}
	return nil
}

// Serve handles one request. A request whose path is not canonical is refused with 400
// before anything else (CheckPath). It returns the identity when the request may go on to the
// upstream — managed headers and Gatehouse cookies already stripped, identity headers
// injected — and nil when it has written the response itself. When several Guards handle one
// request, each strips the managed headers again and injects its own, so the last one's
// headers reach the upstream; cookies are read from what the client sent (see State).
func (g *Guard) Serve(w http.ResponseWriter, r *http.Request) *Identity {
	id, outcome := g.serve(w, r)
	if m := g.Metrics; m != nil {
		metrics.Inc(m.Decisions[outcome])
	}
	return id
}

// serve is Serve, also returning the outcome for the metrics.
func (g *Guard) serve(w http.ResponseWriter, r *http.Request) (*Identity, int) {
	if !CheckPath(w, r, g.State, g.InsecureAllowNonCanonicalPaths) {
		return nil, metrics.BadRequest
	}
	cookies := sentCookies(g.State, r)
	switch r.URL.Path {
	case g.CallbackPath:
		g.stripper.stripRequest(r)
		g.callback(w, r)
		return nil, metrics.Handled
	case g.LogoutPath:
		g.stripper.stripRequest(r)
		g.logout(w, r, cookies)
		return nil, metrics.Handled
	}
	// Read the credentials, then strip everything the client must not pass upstream.
	var bearer, basic, basicKey string
	authz := sentAuthorization(g.State, r)
	if len(authz) > 1 {
		g.stripAll(r)
		g.challenge(w, r, http.StatusBadRequest, "invalid_request", "send one Authorization header")
		return nil, metrics.BadRequest
	}
	if len(authz) == 1 {
		// The scheme ends at the first space or tab (RFC 9110 §11.4 allows either around the
		// credentials); any spelling of "bearer" is ours to check and never forwarded.
		v := strings.TrimLeft(authz[0], " \t")
		end := strings.IndexAny(v, " \t")
		if end < 0 {
			end = len(v)
		}
		if strings.EqualFold(v[:end], "Bearer") {
			tok := v[end:]
			if len(tok) > 0 {
				tok = tok[1:]
			}
			if tok == "" || strings.ContainsAny(tok, " \t") {
				g.stripAll(r)
				g.challenge(w, r, http.StatusBadRequest, "invalid_request", "the Authorization header must be: Bearer <token>")
				return nil, metrics.BadRequest
			}
			bearer = tok
			delete(r.Header, "Authorization") // the gateway's credential is not forwarded (PX-30)
		} else if g.AllowAppPasswords && strings.EqualFold(v[:end], "Basic") {
			// Only on routes that accept app passwords is Basic a credential of ours; on
			// the others it is left alone and never looked at.
			basic, basicKey = strings.Trim(v[end:], " \t"), v
			delete(r.Header, "Authorization")
			if basic == "" {
				g.stripAll(r)
				w.Header().Add("WWW-Authenticate", basicChallenge)
				g.challenge(w, r, http.StatusBadRequest, "invalid_request", "the Authorization header must be: Basic <base64 of user:app-password>")
				return nil, metrics.BadRequest
			}
		}
	}
	name := g.cookieName(r)
	cookie, hasCookie, dupCookie := findCookie(cookies, name)
	g.stripAll(r)

	now := g.Provider.Now()
	var (
		id  *Identity
		err error
	)
	switch {
	case (bearer != "" || basic != "") && hasCookie:
		g.challenge(w, r, http.StatusBadRequest, "invalid_request", "send either a bearer token or the session cookie, not both")
		return nil, metrics.BadRequest
	case basic != "":
		id, err = g.verifyCredential(r, basicKey, basic, true, now)
		if err != nil {
			g.credentialError(w, r, err, true)
			return nil, credentialOutcome(err)
		}
	case appcred.IsPAT(bearer):
		id, err = g.verifyCredential(r, bearer, bearer, false, now)
		if err != nil {
			g.credentialError(w, r, err, false)
			return nil, credentialOutcome(err)
		}
	case bearer != "":
		id, err = g.verifyBearer(bearer, now)
		if err != nil {
			g.tokenError(w, r, err)
			return nil, tokenOutcome(err)
		}
	case dupCookie:
		g.clearCookie(w, r)
		g.unauthenticated(w, r)
		return nil, metrics.Unauthenticated
	case hasCookie:
		id, err = g.verifyCookie(w, r, cookie, now)
		if errors.Is(err, tokens.ErrUnavailable) || errors.Is(err, errUnavailable) {
			g.tokenError(w, r, err)
			return nil, tokenOutcome(err)
		}
		if err != nil {
			if !errors.Is(err, errOtherClient) {
				// A cookie sealed for another client stays: it is the session of the
				// routes the site's Guard of that client protects.
				g.clearCookie(w, r)
			}
			g.unauthenticated(w, r)
			return nil, metrics.Unauthenticated
		}
	default:
		g.unauthenticated(w, r)
		return nil, metrics.Unauthenticated
	}
	rule := &g.Rule
	if id.cred != nil {
		rule = &g.credRule
	}
	d := policy.Evaluate(rule, &id.Policy)
	if d.Outcome == policy.Allow && id.cred == nil && !id.Policy.MFA && g.Provider.MFA.StepUpRequired(id.Claims.AMR) {
		// The runtime settings now require a second factor after this login's method
		// (login.mfa.<method>: required), on every route, also for a login made before the
		// change: a step-up, as for a route with mfa. Memory only (the settings snapshot),
		// and only for single-factor identities.
		d = policy.Decision{Outcome: policy.InsufficientAuthentication, Reason: "a second factor is now required after this way of logging in"}
	}
	switch d.Outcome {
	case policy.Allow:
	case policy.InvalidToken:
		g.challenge(w, r, http.StatusUnauthorized, "invalid_token", d.Reason)
		return nil, metrics.Unauthenticated
	case policy.InsufficientScope:
		g.forbidden(w, r, id, "insufficient_scope", d)
		return nil, metrics.Forbidden
	case policy.InsufficientAuthentication:
		if id.cred != nil {
			// No login can add a factor to an app credential: say what the route needs.
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="this route requires a multi-factor login; app passwords and access tokens are not accepted", acr_values="aal2"`)
			writeError(w, http.StatusUnauthorized, "insufficient_user_authentication", "this route requires a multi-factor login; app passwords and access tokens are not accepted")
			return nil, metrics.Forbidden
		}
		// RFC 9470 step-up: a browser goes back through the login for a passkey (a login
		// that comes back without one ends on a page, not here again: see callback); an
		// API client is told what is missing.
		if g.ClientID != "" && isBrowser(r) {
			g.startStepUp(w, r)
			return nil, metrics.Forbidden
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="a multi-factor login is required", acr_values="aal2"`)
		writeError(w, http.StatusUnauthorized, "insufficient_user_authentication", d.Reason)
		return nil, metrics.Forbidden
	default:
		g.forbidden(w, r, id, "", d)
		return nil, metrics.Forbidden
	}
	if !g.fresh(id, now) {
		return nil, g.reauthenticate(w, r, id)
	}
	if g.require != nil {
		if missing := g.require.check(id, r, now); missing != "" {
			g.requireDenied(w, r, missing)
			return nil, metrics.Forbidden
		}
	}
	for _, h := range id.headers {
		// A fresh slice per request: a later handler (request_header) may edit the value in
		// place, which must not change the cached identity.
		r.Header[h.name] = []string{h.values[0]}
	}
	if g.Assertion != nil && !g.assert(w, r, id, now) {
		return nil, metrics.Unavailable
	}
	if g.State != nil {
		if m := g.State(r); m != nil {
			m[guardedKey] = true
		}
	}
	return id, metrics.Allowed
}

func (g *Guard) stripAll(r *http.Request) {
	g.stripper.stripRequest(r)
	stripCookies(r.Header)
}

func (g *Guard) cookieName(r *http.Request) string {
	if r.TLS != nil {
		return "__Host-gatehouse_" + g.CookieName
	}
	return "gatehouse_" + g.CookieName
}

// verifyBearer verifies an access token, through the cache.
func (g *Guard) verifyBearer(tok string, now time.Time) (*Identity, error) {
	gen := g.cache.generation()
	if id := g.cache.get(tok, now); id != nil && id.cred == nil {
		c := id.Claims
		if err := g.Provider.Revocations.CheckClaims(c); err != nil {
			return nil, err
		}
		return id, nil
	}
	c, err := g.Provider.Verifier.VerifyAccessToken(tok)
	if err != nil {
		return nil, err
	}
	id := newIdentity(c, g.Headers)
	id.keyGen = gen
	// Cached as long as the verifier accepts it: during the leeway after exp too, where
	// every request would otherwise verify the signature again.
	id.until = c.ExpiresAt + int64(g.Provider.Verifier.Leeway/time.Second)
	g.cache.put(tok, id, now)
	return id, nil
}

// isBrowser: a navigation that can follow a redirect to the login page.
func isBrowser(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// unauthenticated answers a request without a valid credential: a redirect to the login for
// a browser, 401 otherwise.
func (g *Guard) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if g.ClientID != "" && isBrowser(r) {
		g.startLogin(w, r)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	if g.AllowAppPasswords {
		w.Header().Add("WWW-Authenticate", basicChallenge)
	}
	writeError(w, http.StatusUnauthorized, "unauthorized", "authentication required")
}

// tokenOutcome is the metrics outcome of tokenError's answer.
func tokenOutcome(err error) int {
	if errors.Is(err, tokens.ErrUnavailable) || errors.Is(err, errUnavailable) {
		return metrics.Unavailable
	}
	return metrics.Unauthenticated
}

// credentialOutcome is the metrics outcome of credentialError's answer.
func credentialOutcome(err error) int {
	if errors.Is(err, errCredential) {
		return metrics.Unauthenticated
	}
	var locked *lockout.LockedError
	if errors.As(err, &locked) {
		return metrics.Unauthenticated
	}
	return metrics.Unavailable
}

// tokenError answers a presented token that failed verification.
func (g *Guard) tokenError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, tokens.ErrUnavailable) || errors.Is(err, errUnavailable) {
		g.Logger.Error("protect: failing closed", "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "authentication is temporarily unavailable")
		return
	}
	desc := "the access token is invalid"
	switch {
	case errors.Is(err, tokens.ErrExpired):
		desc = "the access token expired"
	case errors.Is(err, tokens.ErrRevoked):
		desc = "the access token was revoked"
	}
	g.challenge(w, r, http.StatusUnauthorized, "invalid_token", desc)
}

// challenge writes an RFC 6750 §3 error.
func (g *Guard) challenge(w http.ResponseWriter, r *http.Request, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+quoteSafe(desc)+`"`)
	writeError(w, status, code, desc)
}

func (g *Guard) forbidden(w http.ResponseWriter, r *http.Request, id *Identity, code string, d policy.Decision) {
	if code == "insufficient_scope" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="`+
			quoteSafe(strings.Join(g.Rule.Scopes, " "))+`"`)
	}
	if isBrowser(r) && id != nil {
		g.renderPage(w, r, http.StatusForbidden, pageData{Title: "Access denied",
			Message: pageT(r, "You are logged in as %s, but this page needs more access: %s.", id.Claims.Email, d.Reason),
			Link:    g.LogoutPath, LinkText: "Log in as someone else"})
		return
	}
	if code == "" {
		code = "forbidden"
	}
	writeError(w, http.StatusForbidden, code, d.Reason)
}

func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"` + quoteSafe(desc) + `"}` + "\n"))
}
