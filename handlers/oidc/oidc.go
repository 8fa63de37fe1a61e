// Package oidc serves the OpenID Provider endpoints: discovery, JWKS, authorization, token
// and userinfo. It parses and validates requests, delegates every decision to oauth.Provider
// and renders the result as RFC 6749 / OpenID Connect Core responses.
//
// Errors follow RFC 6749: before the client and redirect URI are validated an error page is
// shown (never a redirect to an unvalidated URI); afterwards errors go to the redirect URI
// with state and iss (RFC 9207). Token-endpoint errors are JSON with Cache-Control: no-store.
// The package does not import Caddy; login pages are in package login.
package oidc

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/login"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
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

// Discovery is the OpenID Provider metadata (OIDC Discovery §3, RFC 8414). Only what is
// implemented is advertised.
type Discovery struct {
	Issuer                                    string   `json:"issuer"`
	AuthorizationEndpoint                     string   `json:"authorization_endpoint"`
	TokenEndpoint                             string   `json:"token_endpoint"`
	UserinfoEndpoint                          string   `json:"userinfo_endpoint"`
	JWKSURI                                   string   `json:"jwks_uri"`
	EndSessionEndpoint                        string   `json:"end_session_endpoint"`
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	ScopesSupported                           []string `json:"scopes_supported"`
	ResponseTypesSupported                    []string `json:"response_types_supported"`
	ResponseModesSupported                    []string `json:"response_modes_supported"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	SubjectTypesSupported                     []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported          []string `json:"id_token_signing_alg_values_supported"`
	UserinfoSigningAlgValuesSupported         []string `json:"userinfo_signing_alg_values_supported,omitempty"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                           []string `json:"claims_supported"`
	ClaimTypesSupported                       []string `json:"claim_types_supported"`
	PromptValuesSupported                     []string `json:"prompt_values_supported"`
	ACRValuesSupported                        []string `json:"acr_values_supported"`
	UILocalesSupported                        []string `json:"ui_locales_supported"`
	AuthorizationResponseIssParameter         bool     `json:"authorization_response_iss_parameter_supported"`
	ClaimsParameterSupported                  bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                 bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported              bool     `json:"request_uri_parameter_supported"`
	RequireRequestURIRegistration             bool     `json:"require_request_uri_registration"`
	BackchannelLogoutSupported                bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported         bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported               bool     `json:"frontchannel_logout_supported"`
	TLSClientCertificateBoundAccessTokens     bool     `json:"tls_client_certificate_bound_access_tokens"`
}

func (h *Handler) buildDiscovery() []byte {
	iss := h.Issuer
	auth := []string{"client_secret_basic", "client_secret_post"}
	// Every signing algorithm with a key is available per client; RS256 always is.
	algs := h.Keys.Algs()
	d := Discovery{
		Issuer:                                    iss,
		AuthorizationEndpoint:                     iss + PathAuthorize,
		TokenEndpoint:                             iss + PathToken,
		UserinfoEndpoint:                          iss + PathUserinfo,
		JWKSURI:                                   iss + PathJWKS,
		EndSessionEndpoint:                        iss + PathLogout,
		RevocationEndpoint:                        iss + PathRevoke,
		IntrospectionEndpoint:                     iss + PathIntrospect,
		ScopesSupported:                           []string{"openid", "profile", "email", "phone", "address", "offline_access"},
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{"query"},
		GrantTypesSupported:                       []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials},
		SubjectTypesSupported:                     []string{"public"},
		IDTokenSigningAlgValuesSupported:          algs,
		TokenEndpointAuthMethodsSupported:         append(auth, "none"),
		RevocationEndpointAuthMethodsSupported:    append(auth, "none"),
		IntrospectionEndpointAuthMethodsSupported: auth,
		CodeChallengeMethodsSupported:             []string{"S256"},
		ClaimsSupported:                           issue.SupportedClaims,
		ClaimTypesSupported:                       []string{"normal"},
		PromptValuesSupported:                     []string{"none", "login", "consent", "select_account"},
		ACRValuesSupported:                        []string{login.ACRSingleFactor},
		UILocalesSupported:                        []string{"en"},
		AuthorizationResponseIssParameter:         true,
		ClaimsParameterSupported:                  true,
		BackchannelLogoutSupported:                true,
		BackchannelLogoutSessionSupported:         true,
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	return b
}

func (h *Handler) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(h.discovery)
}

func (h *Handler) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(h.Keys.JWKS())
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

// writeTokenError writes an RFC 6749 §5.2 error.
func writeTokenError(w http.ResponseWriter, e *oauth.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	web.WriteJSON(w, status, map[string]string{"error": e.Code, "error_description": cleanDescription(e.Description)})
}

// cleanDescription keeps error_description within RFC 6749's character set (%x20-21 /
// %x23-5B / %x5D-7E): no CR, LF, TAB, quote or backslash.
func cleanDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
}

type errorData struct{ Message, Code string }

func (h *Handler) errorPage(w http.ResponseWriter, status int, title, msg, code string) {
	web.SecurityHeaders(w.Header())
	if err := h.Templates.Render(w, status, "error", ui.Page{Brand: h.Brand, Base: h.Base, Title: title,
		Data: errorData{Message: msg, Code: code}}); err != nil {
		h.Logger.Error("render error page", "error", err)
	}
}
