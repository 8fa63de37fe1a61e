// Package oidc serves the OpenID Provider endpoints: discovery, JWKS, authorization, token
// (with its grants), userinfo, revocation and introspection. It owns the protocol line:
// it parses requests into the typed values of package oauth, delegates every decision to
// the authorization server (oauth.Server, through the OAuth interface of deps.go), and
// renders the outcome as RFC 6749 / OpenID Connect Core responses, mapping the domain's
// typed errors (oauth.Error's Kind) to OAuth error codes and HTTP statuses (errors.go).
//
// One file per endpoint or grant: discovery.go, jwks.go, authorize.go (the dispatcher:
// session, prompt, max_age, step-up) with authorize_params.go (the request's parameters)
// and claims.go (the claims parameter), token.go (POST /token: the form, client
// authentication, grant dispatch) with grant_code.go, grant_refresh.go and
// grant_client_credentials.go, userinfo.go, revoke.go, introspect.go, errors.go, and cors.go
// (browser apps: CORS on /token, /revoke and /userinfo for public clients' origins). The logout
// (end_session) endpoint is served with the login pages (handlers/login).
//
// Errors follow RFC 6749: before the client and redirect URI are validated an error page is
// shown (never a redirect to an unvalidated URI); afterwards errors go to the redirect URI
// with state and iss (RFC 9207). Token-endpoint errors are JSON with Cache-Control: no-store.
// The package does not import Caddy; login pages are in package login.
package oidc

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Endpoint paths, relative to the issuer.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/jwks"
	PathAuthorize  = "/authorize"
	PathToken      = "/token"
	PathUserinfo   = "/userinfo"
	PathLogout     = "/logout"
	PathLogin      = "/login"
	PathRevoke     = "/revoke"
	PathIntrospect = "/introspect"
)

// Handler serves the OpenID Provider endpoints. Every field is required except Logger.
type Handler struct {
	// The identity core (deps.go).
	OAuth    OAuth
	Sessions Sessions
	MFA      MFA
	Passkeys Passkeys
	Tokens   Verifier
	Keys     Keys
	// Issuer is the exact issuer URL.
	Issuer string
	Now    func() time.Time

	// Cookie carries the portal session's secret.
	Cookie    *session.Manager
	Templates *ui.Templates
	Brand     ui.Brand
	// Base is the issuer URL's path ("" at the root).
	Base string
	// Locale is the deployment's default page language (i18n; "" means English).
	Locale string
	// ClientIP returns the request's client IP as determined by Caddy (nil: RemoteAddr).
	ClientIP func(*http.Request) string
	Logger   *slog.Logger

	discovery []byte
}

// Mount registers the endpoints on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	h.discovery = h.buildDiscovery()
	b := h.Base
	mux.HandleFunc("GET "+b+PathDiscovery, h.serveDiscovery)
	mux.HandleFunc("GET "+b+PathJWKS, h.serveJWKS)
	mux.HandleFunc(b+PathAuthorize, h.authorize)
	mux.HandleFunc(b+PathToken, h.token)
	mux.HandleFunc(b+PathUserinfo, h.userinfo)
	mux.HandleFunc(b+PathRevoke, h.revoke)
	mux.HandleFunc(b+PathIntrospect, h.introspect)
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type errorData struct{ Message, Code string }

// T translates the English text msg into the request's language (i18n.T).
func (h *Handler) T(r *http.Request, msg string, args ...any) string {
	return i18n.T(i18n.FromRequest(r, h.Locale), msg, args...)
}

// errorPage renders the error page in the request's language: title and msg are English
// catalog texts (msg may end in a detail that stays untranslated).
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg, code string) {
	web.SecurityHeaders(w.Header())
	lang := i18n.FromRequest(r, h.Locale)
	if err := h.Templates.Render(w, status, "error", ui.Page{Brand: h.Brand, Base: h.Base, Lang: lang, Title: i18n.Text(lang, title),
		Data: errorData{Message: i18n.Text(lang, msg), Code: code}}); err != nil {
		h.Logger.Error("render error page", "error", err)
	}
}
