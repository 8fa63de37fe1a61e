package oidc

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"encoding/json"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/login"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// Discovery is the OpenID Provider metadata (OIDC Discovery §3, RFC 8414). Only what is
// implemented is advertised. The same document answers at PathDiscovery and at
// PathASMetadata (RFC 8414 §3: OAuth clients such as MCP clients look there).
type Discovery struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	UserinfoEndpoint            string `json:"userinfo_endpoint"`
	JWKSURI                     string `json:"jwks_uri"`
	EndSessionEndpoint          string `json:"end_session_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
	IntrospectionEndpoint       string `json:"introspection_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	// RegistrationEndpoint is advertised only when dynamic registration is on (OIDC
	// Discovery §3, RFC 8414 §2).
	RegistrationEndpoint string `json:"registration_endpoint,omitempty"`
	// PushedAuthorizationRequestEndpoint and RequirePushedAuthorizationRequests: RFC 9126 §5.
	PushedAuthorizationRequestEndpoint        string   `json:"pushed_authorization_request_endpoint"`
	RequirePushedAuthorizationRequests        bool     `json:"require_pushed_authorization_requests"`
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
		DeviceAuthorizationEndpoint:               iss + PathDeviceCode,
		PushedAuthorizationRequestEndpoint:        iss + PathPAR,
		RequirePushedAuthorizationRequests:        h.RequirePushed,
		ScopesSupported:                           []string{"openid", "profile", "email", "phone", "address", "offline_access"},
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{"query"},
		GrantTypesSupported:                       []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials, oauth.GrantDeviceCode},
		SubjectTypesSupported:                     []string{"public"},
		IDTokenSigningAlgValuesSupported:          algs,
		TokenEndpointAuthMethodsSupported:         append(auth, "none"),
		RevocationEndpointAuthMethodsSupported:    append(auth, "none"),
		IntrospectionEndpointAuthMethodsSupported: auth,
		CodeChallengeMethodsSupported:             []string{"S256"},
		ClaimsSupported:                           issue.SupportedClaims,
		ClaimTypesSupported:                       []string{"normal"},
		// consent: the consent page of third-party clients (consent required) is shown
		// again. /authorize accepts prompt=select_account and proceeds (one session per
		// browser, so no account chooser); it is not advertised (OIDC Discovery §3: the
		// prompt values "that this OP supports").
		PromptValuesSupported: []string{"none", "login", "consent"},
		// aal2: acr_values=aal2 steps a single-factor session up with a second factor.
		ACRValuesSupported:                []string{login.ACRSingleFactor, login.ACRMultiFactor},
		UILocalesSupported:                i18n.Languages,
		AuthorizationResponseIssParameter: true,
		ClaimsParameterSupported:          true,
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
	}
	if h.Registration != nil {
		d.RegistrationEndpoint = iss + PathRegister
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
