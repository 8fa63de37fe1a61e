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
// grant_client_credentials.go, device.go (the device authorization endpoint and the device
// code grant, RFC 8628), userinfo.go, revoke.go, introspect.go, errors.go, cors.go
// (browser apps: CORS on /token, /revoke and /userinfo for public clients' origins), and
// register.go (dynamic client registration, RFC 7591/7592, when turned on), par.go (the
// pushed authorization request endpoint, RFC 9126, and the request_uri at /authorize) and
// approve.go (the transaction approval page of a pushed approval_data: passkey or code,
// through package approval). The logout
// (end_session) endpoint is served with the login pages (handlers/login). consent.go is the
// consent page of third-party clients and its decision.
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
	PathDiscovery = "/.well-known/openid-configuration"
	// PathASMetadata is the OAuth 2.0 Authorization Server Metadata document (RFC 8414 §3),
	// served before the issuer's path (§3.1: /.well-known/oauth-authorization-server/<path>).
	PathASMetadata = "/.well-known/oauth-authorization-server"
	PathJWKS       = "/jwks"
	PathAuthorize  = "/authorize"
	PathToken      = "/token"
	PathUserinfo   = "/userinfo"
	PathLogout     = "/logout"
	PathLogin      = "/login"
	PathRevoke     = "/revoke"
	PathIntrospect = "/introspect"
	// PathDeviceCode is the device authorization endpoint (RFC 8628 §3.1); PathDevice the
	// verification page the user enters the user code on (handlers/device).
	PathDeviceCode = "/device/code"
	PathDevice     = "/device"
	// PathRegister is the dynamic client registration endpoint (RFC 7591), and
	// PathRegister/{client_id} each client's configuration endpoint (RFC 7592).
	PathRegister = "/register"
)

// Handler serves the OpenID Provider endpoints. Every field is required except Logger and
// Registration.
type Handler struct {
	// The identity core (deps.go).
	OAuth    OAuth
	Sessions Sessions
	MFA      MFA
	Passkeys Passkeys
	Tokens   Verifier
	Keys     Keys
	// Registration serves dynamic client registration (register.go); nil turns it off: no
	// endpoint, nothing in discovery.
	Registration Registrar
	// Approval runs transaction approvals (approve.go; nil: approval_data cannot be
	// approved, its page ends the request with server_error). ApprovalOTP lets every
	// client's users approve with an email or SMS code (approval { allow otp }); a client
	// may allow it for itself (oauth.Client.ApprovalOTP).
	Approval    Approver
	ApprovalOTP bool
	// RequirePushed is advertised as require_pushed_authorization_requests (RFC 9126 §5);
	// the authorization server enforces it.
	RequirePushed bool
	// Journeys runs the journeys an authorization request asks for (journey=<name> or the
	// client's default_journey; handlers/journey); nil when none are configured.
	Journeys Journeys
	// Issuer is the exact issuer URL.
	Issuer string
	Now    func() time.Time

	// Cookie carries the portal session's secret.
	Cookie *session.Manager
	// CSRF issues and checks the consent form's token.
	CSRF      *web.CSRF
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
	mux.HandleFunc("GET "+PathASMetadata+b, h.serveDiscovery)
	mux.HandleFunc("GET "+b+PathJWKS, h.serveJWKS)
	mux.HandleFunc(b+PathAuthorize, h.authorize)
	// The consent decision changes state: a request another site sent is refused with 403
	// (Sec-Fetch-Site / Origin) before the CSRF token is even checked (PX-24).
	origin := http.NewCrossOriginProtection()
	origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.errorPage(w, r, http.StatusForbidden, "Request refused", "This request came from another site. Go back to the application and sign in again.", "cross_origin")
	}))
	mux.Handle("POST "+b+PathConsent, origin.Handler(http.HandlerFunc(h.consentDecision)))
	mux.Handle("POST "+b+PathApprove, origin.Handler(http.HandlerFunc(h.approveDecision)))
	mux.Handle("POST "+b+PathApprovePasskey+"/begin", origin.Handler(http.HandlerFunc(h.approvePasskeyBegin)))
	mux.Handle("POST "+b+PathApprovePasskey+"/finish", origin.Handler(http.HandlerFunc(h.approvePasskeyFinish)))
	mux.HandleFunc(b+PathPAR, h.par)
	mux.HandleFunc(b+PathToken, h.token)
	mux.HandleFunc(b+PathUserinfo, h.userinfo)
	mux.HandleFunc(b+PathRevoke, h.revoke)
	mux.HandleFunc(b+PathIntrospect, h.introspect)
	mux.HandleFunc(b+PathDeviceCode, h.deviceCode)
	h.mountRegistration(mux)
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

// errorData is the data of the error page (ui/templates/error.html; Link and LinkText are
// its optional way on, unused here).
type errorData struct{ Message, Code, Link, LinkText string }

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
