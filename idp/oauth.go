package idp

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// Grant types.
const (
	GrantAuthorizationCode     = oauth.GrantAuthorizationCode
	GrantRefreshToken          = oauth.GrantRefreshToken
	GrantClientCredentials     = oauth.GrantClientCredentials
	GrantTypeClientCredentials = oauth.GrantTypeClientCredentials
)

// Common OAuth error codes.
const (
	ErrCodeInvalidRequest       = oauth.ErrCodeInvalidRequest
	ErrCodeInvalidClient        = oauth.ErrCodeInvalidClient
	ErrCodeInvalidGrant         = oauth.ErrCodeInvalidGrant
	ErrCodeUnauthorizedClient   = oauth.ErrCodeUnauthorizedClient
	ErrCodeUnsupportedGrantType = oauth.ErrCodeUnsupportedGrantType
	ErrCodeInvalidScope         = oauth.ErrCodeInvalidScope
	ErrCodeServerError          = oauth.ErrCodeServerError
	ErrCodeTemporarilyUnavail   = oauth.ErrCodeTemporarilyUnavail
	ErrCodeAccessDenied         = oauth.ErrCodeAccessDenied
	ErrCodeUnsupportedResponse  = oauth.ErrCodeUnsupportedResponse
	ErrCodeLoginRequired        = oauth.ErrCodeLoginRequired
	ErrCodeInvalidToken         = oauth.ErrCodeInvalidToken
)

// StatusClientClosedRequest is the status of an answer to a request whose client went away.
const StatusClientClosedRequest = oauth.StatusClientClosedRequest

// TypeLogoutToken is the typ of back-channel logout tokens.
const TypeLogoutToken = issue.TypeLogoutToken

// MaxCustomData is the largest custom_data / custom_app_data / group data payload (bytes).
const MaxCustomData = input.MaxCustomData

// DefaultScopes are the scopes every client may request unless its configuration lists others.
var DefaultScopes = oauth.DefaultScopes

// SupportedClaims lists every claim Gatehouse can release (for discovery).
var SupportedClaims = issue.SupportedClaims

// The OAuth domain's types (package oauth) and the claims request's (tokens/issue).
type (
	Error         = oauth.Error
	Client        = oauth.Client
	ClientConfig  = oauth.ClientConfig
	AuthRequest   = oauth.AuthRequest
	TokenResponse = oauth.TokenResponse
	Introspection = oauth.Introspection
	ClaimsRequest = issue.ClaimsRequest
	ClaimSpec     = issue.ClaimSpec
)

// NewClient validates cfg and builds a client (oauth.NewClient).
func NewClient(cfg ClientConfig) (*Client, error) { return oauth.NewClient(cfg) }

// ValidateRedirectURI checks a redirect URI at registration (oauth.ValidateRedirectURI).
func ValidateRedirectURI(raw string) error { return oauth.ValidateRedirectURI(raw) }

// ValidateResource checks a resource indicator (oauth.ValidateResource).
func ValidateResource(raw string) error { return oauth.ValidateResource(raw) }

// ParseClaimsRequest validates the claims parameter (oauth.ParseClaimsRequest).
func ParseClaimsRequest(raw string) (*ClaimsRequest, *Error) { return oauth.ParseClaimsRequest(raw) }

// ValidateCustomData checks a custom data payload before it is stored (input.ValidateCustomData).
func ValidateCustomData(field string, raw json.RawMessage) error {
	return input.ValidateCustomData(field, raw)
}

// WebAuthnUsername returns the user handle as a UUID (claim webauthn_username).
func WebAuthnUsername(u store.User) string { return issue.WebAuthnUsername(u) }

// Client returns the client with this ID: from the configuration, else from the store.
func (p *Provider) Client(ctx context.Context, id string) (*Client, error) {
	return p.OAuth.Client(ctx, id)
}

// Clients returns the configured clients.
func (p *Provider) Clients() []*Client { return p.OAuth.ConfiguredClients() }

// ParseAuthRequest validates the parameters of an authorization request.
func (p *Provider) ParseAuthRequest(ctx context.Context, q url.Values) (*AuthRequest, bool, *Error) {
	return p.OAuth.ParseAuthRequest(ctx, q)
}

// IssueCode creates an authorization code for the request, the session and its user.
func (p *Provider) IssueCode(ctx context.Context, req *AuthRequest, s store.Session) (string, error) {
	return p.OAuth.IssueCode(ctx, req, s)
}

// CanAddPasskey tells whether the user of session s could add a passkey right now.
func (p *Provider) CanAddPasskey(s store.Session) bool { return p.MFA.CanAddPasskey(s) }

// AuthenticateClient identifies the client of a token request.
func (p *Provider) AuthenticateClient(ctx context.Context, id, sec string, hasSecret bool, clientIP string) (*Client, *Error) {
	return p.OAuth.AuthenticateClient(ctx, id, sec, hasSecret, clientIP)
}

// ExchangeCode redeems an authorization code.
func (p *Provider) ExchangeCode(ctx context.Context, c *Client, code, redirectURI, verifier string) (*TokenResponse, *Error) {
	return p.OAuth.ExchangeCode(ctx, c, code, redirectURI, verifier)
}

// RefreshGrant exchanges a refresh token for new tokens.
func (p *Provider) RefreshGrant(ctx context.Context, c *Client, rt, scope string) (*TokenResponse, *Error) {
	return p.OAuth.RefreshGrant(ctx, c, rt, scope)
}

// ClientCredentialsGrant issues an access token to a confidential client acting for itself.
func (p *Provider) ClientCredentialsGrant(ctx context.Context, c *Client, scope string, resources []string) (*TokenResponse, *Error) {
	return p.OAuth.ClientCredentialsGrant(ctx, c, scope, resources)
}

// Revoke revokes a token presented by client c (RFC 7009).
func (p *Provider) Revoke(ctx context.Context, c *Client, token, hint string) *Error {
	return p.OAuth.Revoke(ctx, c, token, hint)
}

// Introspect tells client c whether a token is active (RFC 7662).
func (p *Provider) Introspect(ctx context.Context, c *Client, token, hint string) (*Introspection, *Error) {
	return p.OAuth.Introspect(ctx, c, token, hint)
}

// UserInfo returns the claims of the user an access token was issued to.
func (p *Provider) UserInfo(ctx context.Context, ac *tokens.AccessClaims) (map[string]any, *Error) {
	return p.OAuth.UserInfo(ctx, ac)
}

// UserClaims returns the user's claims released for scopes (without a claims request).
func (p *Provider) UserClaims(u store.User, scopes []string) map[string]any {
	return p.Tokens.UserClaims(u, scopes)
}
