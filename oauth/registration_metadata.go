package oauth

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Client metadata of dynamic client registration (RFC 7591 §2), as the registration
// endpoint reads it and answers it. Unknown members are ignored (RFC 7591 §2: "The
// authorization server MUST ignore any client metadata sent by the client that it does not
// understand"); the ones kept are bounded in number and size before anything is stored.

// Token endpoint authentication methods (RFC 7591 §2).
const (
	AuthMethodNone   = "none"
	AuthMethodBasic  = "client_secret_basic"
	AuthMethodPost   = "client_secret_post"
	responseTypeCode = "code"
)

// RegistrableScopes are the scopes a dynamically registered client may ask for: the
// standard OpenID Connect scopes. Other scopes may guard routes (gatehouse_protect's
// `scope`), so only a client of the configuration can be given them.
var RegistrableScopes = []string{"openid", "profile", "email", "phone", "address", "offline_access"}

// Bounds of the kept metadata.
const (
	maxMetadataURIs    = 20   // redirect_uris, post_logout_redirect_uris, allowed_origins
	maxMetadataString  = 2000 // one URI or string value
	maxClientName      = 200
	maxContacts        = 10
	maxMetadataListLen = 10 // grant_types, response_types
)

// metadataURIFields are the informational URL members kept in store.Client.Metadata.
var metadataURIFields = []string{"client_uri", "logo_uri", "tos_uri", "policy_uri"}

// ClientMetadata is the client metadata of a registration or update request (RFC 7591 §2,
// RFC 7592 §2.2), and of the answers (with the fields the server sets).
type ClientMetadata struct {
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	TOSURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
	Contacts                []string `json:"contacts,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
	// IDTokenSignedResponseAlg signs the client's ID tokens (OpenID Connect Dynamic Client
	// Registration 1.0 §2): RS256, ES256 or EdDSA; never none.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
	// PostLogoutRedirectURIs (OpenID Connect RP-Initiated Logout 1.0 §3.1).
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// AllowedOrigins are a public client's extra browser origins (CORS), a Gatehouse
	// extension.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// ClientID and ClientSecret are those of the client in an update (RFC 7592 §2.2).
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// metadataError is an RFC 7591 §3.2.2 error: invalid_redirect_uri or invalid_client_metadata.
func metadataError(redirect bool, format string, args ...any) *Error {
	k := InvalidClientMetadata
	if redirect {
		k = InvalidRedirectURI
	}
	return errorf(k, format, args...)
}

// normalize checks the metadata and fills the defaults of RFC 7591 §2: the method
// client_secret_basic, the grant type authorization_code, the response type code, and (a
// Gatehouse default) the scopes DefaultScopes. The redirect URIs follow exactly the rules of
// the configured clients (ValidateRedirectURI); the rest is checked again by NewClient.
func (m *ClientMetadata) normalize() *Error {
	if len(m.RedirectURIs) > maxMetadataURIs || len(m.PostLogoutRedirectURIs) > maxMetadataURIs {
		return metadataError(true, "at most %d redirect_uris and %d post_logout_redirect_uris", maxMetadataURIs, maxMetadataURIs)
	}
	for field, list := range map[string][]string{"redirect_uris": m.RedirectURIs, "post_logout_redirect_uris": m.PostLogoutRedirectURIs} {
		for i, u := range list {
			if len(u) > maxMetadataString {
				return metadataError(true, "%s[%d] is longer than %d characters", field, i, maxMetadataString)
			}
			if err := ValidateRedirectURI(u); err != nil {
				return metadataError(true, "%s[%d] %q: %v", field, i, u, err)
			}
		}
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = AuthMethodBasic
	}
	switch m.TokenEndpointAuthMethod {
	case AuthMethodNone, AuthMethodBasic, AuthMethodPost:
	default:
		return metadataError(false, "token_endpoint_auth_method %q is not supported: use none (a public client: browser or native app), client_secret_basic or client_secret_post", clip(m.TokenEndpointAuthMethod))
	}
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{GrantAuthorizationCode}
	}
	if m.ResponseTypes == nil { // absent; [] is a client without the code flow
		m.ResponseTypes = []string{responseTypeCode}
	}
	if len(m.GrantTypes) > maxMetadataListLen || len(m.ResponseTypes) > maxMetadataListLen {
		return metadataError(false, "grant_types and response_types: at most %d values each", maxMetadataListLen)
	}
	m.GrantTypes, m.ResponseTypes = dedupe(m.GrantTypes), dedupe(m.ResponseTypes)
	for _, g := range m.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantClientCredentials:
			if m.TokenEndpointAuthMethod == AuthMethodNone {
				return metadataError(false, "grant_types: client_credentials needs a confidential client (token_endpoint_auth_method client_secret_basic or client_secret_post)")
			}
		default:
			return metadataError(false, "grant_types: %q is not supported (use authorization_code, refresh_token, client_credentials)", clip(g))
		}
	}
	for _, rt := range m.ResponseTypes {
		if rt != responseTypeCode {
			return metadataError(false, "response_types: %q is not supported (only code: the authorization code flow)", clip(rt))
		}
	}
	// RFC 7591 §2.1: the code response type goes with the authorization_code grant type.
	hasCodeGrant := slices.Contains(m.GrantTypes, GrantAuthorizationCode)
	if hasCodeGrant != slices.Contains(m.ResponseTypes, responseTypeCode) {
		return metadataError(false, "grant_types and response_types disagree: authorization_code goes with the response type code (RFC 7591 §2.1)")
	}
	if hasCodeGrant && len(m.RedirectURIs) == 0 {
		return metadataError(true, "redirect_uris: at least one is required for the authorization_code grant")
	}
	if m.Scope == "" {
		m.Scope = strings.Join(DefaultScopes, " ")
	}
	if len(m.Scope) > maxMetadataString {
		return metadataError(false, "scope is longer than %d characters", maxMetadataString)
	}
	scopes := dedupe(strings.Fields(m.Scope))
	for _, s := range scopes {
		if !slices.Contains(RegistrableScopes, s) {
			return metadataError(false, "scope %q cannot be registered (a registered client may ask for %s; other scopes need a client in the configuration)", clip(s), strings.Join(RegistrableScopes, " "))
		}
	}
	m.Scope = strings.Join(scopes, " ")
	if len(m.AllowedOrigins) > maxMetadataURIs {
		return metadataError(false, "allowed_origins: at most %d", maxMetadataURIs)
	}
	for i, o := range m.AllowedOrigins {
		if err := ValidateOrigin(o); err != nil {
			return metadataError(false, "allowed_origins[%d] %q: %v", i, clip(o), err)
		}
	}
	if len(m.AllowedOrigins) > 0 && m.TokenEndpointAuthMethod != AuthMethodNone {
		return metadataError(false, "allowed_origins is only for public clients (token_endpoint_auth_method none): a page in a browser cannot keep a secret")
	}
	switch m.IDTokenSignedResponseAlg {
	case "", "RS256", "ES256", "EdDSA":
	default:
		return metadataError(false, "id_token_signed_response_alg %q is not supported: use RS256, ES256 or EdDSA (ID tokens are always signed)", clip(m.IDTokenSignedResponseAlg))
	}
	if utf8.RuneCountInString(m.ClientName) > maxClientName || !printable(m.ClientName) {
		return metadataError(false, "client_name: at most %d printable characters", maxClientName)
	}
	for i, u := range []string{m.ClientURI, m.LogoURI, m.TOSURI, m.PolicyURI} {
		if u == "" {
			continue
		}
		if err := ValidateResource(u); err != nil || len(u) > maxMetadataString || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
			return metadataError(false, "%s: must be an http(s) URL without fragment, at most %d characters", metadataURIFields[i], maxMetadataString)
		}
	}
	if len(m.Contacts) > maxContacts {
		return metadataError(false, "contacts: at most %d", maxContacts)
	}
	for i, c := range m.Contacts {
		if c == "" || len(c) > 320 || !printable(c) || strings.Contains(c, ",") {
			return metadataError(false, "contacts[%d]: an email address of at most 320 printable characters", i)
		}
	}
	for name, v := range map[string]string{"software_id": m.SoftwareID, "software_version": m.SoftwareVersion} {
		if len(v) > 200 || !printable(v) {
			return metadataError(false, "%s: at most 200 printable characters", name)
		}
	}
	return nil
}

// extra returns the informational members to keep in store.Client.Metadata.
func (m *ClientMetadata) extra() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"client_uri": m.ClientURI, "logo_uri": m.LogoURI, "tos_uri": m.TOSURI,
		"policy_uri": m.PolicyURI, "software_id": m.SoftwareID, "software_version": m.SoftwareVersion,
		"id_token_signed_response_alg": m.IDTokenSignedResponseAlg,
		"contacts":                     strings.Join(m.Contacts, ",")} {
		if v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// withoutAdminScope drops gatehouse:admin from a record's scopes: it grants nothing there
// (store.Client.Admin does), and a registration read back with it could not be PUT again.
func withoutAdminScope(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == AdminScope })
}

// metadataOf is the registered metadata of a stored client, as RFC 7592 §3 answers it.
func metadataOf(rec RegisteredClient) ClientMetadata {
	c := rec.Client
	m := ClientMetadata{ClientID: c.ID, RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, AllowedOrigins: c.AllowedOrigins,
		ClientName: c.Name, Scope: strings.Join(withoutAdminScope(c.Scopes), " "), TokenEndpointAuthMethod: c.Metadata["token_endpoint_auth_method"],
		ClientURI: c.Metadata["client_uri"], LogoURI: c.Metadata["logo_uri"], TOSURI: c.Metadata["tos_uri"],
		PolicyURI: c.Metadata["policy_uri"], SoftwareID: c.Metadata["software_id"], SoftwareVersion: c.Metadata["software_version"],
		IDTokenSignedResponseAlg: c.Metadata["id_token_signed_response_alg"]}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = AuthMethodBasic
		if c.SecretHash == "" {
			m.TokenEndpointAuthMethod = AuthMethodNone
		}
	}
	if slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
		m.ResponseTypes = []string{responseTypeCode}
	}
	if v := c.Metadata["contacts"]; v != "" {
		m.Contacts = strings.Split(v, ",")
	}
	return m
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// clip shortens a client-supplied value quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
