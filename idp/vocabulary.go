package idp

import (
	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// The configuration vocabulary of module/ and caddyfile/ — and of handlers/protect until it
// takes its own interface — re-exported from the packages that own it, so that the Caddy
// glue builds a Config without knowing the layout of the identity core. New code should use
// the owning packages.

// Signup modes (Config.SignupMode; account.Signup).
const (
	SignupOpen   = account.SignupOpen
	SignupClosed = account.SignupClosed
	SignupInvite = account.SignupInvite
)

// Passwordless methods (Config.Methods; the Caddyfile's `login` list).
const (
	MethodEmailCode = otp.MethodEmailCode
	MethodMagicLink = otp.MethodMagicLink
	MethodSMSCode   = otp.MethodSMSCode
)

// Messenger delivers codes, links and notices (Config.Messenger).
type Messenger = otp.Messenger

// MessageVars are the values a message template receives.
type MessageVars = otp.MessageVars

// PasskeyConfig configures WebAuthn (Config.Passkeys).
type PasskeyConfig = passkey.Config

// SocialProvider is one upstream identity provider (Config.SocialProviders).
type SocialProvider = social.Provider

// Kinds of upstream providers (SocialProvider.Kind).
const (
	SocialOIDC   = social.KindOIDC
	SocialGitHub = social.KindGitHub
)

// SocialLimits bound the social logins a client IP may leave unfinished (Config.SocialLimits).
type SocialLimits = social.Limits

// DefaultSocialMaxUnfinishedPerIP is SocialLimits.MaxUnfinishedPerIP's default.
const DefaultSocialMaxUnfinishedPerIP = social.DefaultMaxUnfinishedPerIP

// ValidateSocial checks a provider's configuration.
func ValidateSocial(sp *SocialProvider) error { return social.Validate(sp) }

// ValidateGroups checks group names.
func ValidateGroups(groups []string) error { return input.ValidateGroups(groups) }

// Client is an OAuth client; ClientConfig describes one from the configuration.
type (
	Client       = oauth.Client
	ClientConfig = oauth.ClientConfig
	// Registration is the dynamic client registration policy (RFC 7591).
	Registration = oauth.Registration
)

// NewClient validates cfg and builds a client.
func NewClient(cfg ClientConfig) (*Client, error) { return oauth.NewClient(cfg) }

// Dynamic client registration modes.
const (
	RegistrationApproval = oauth.RegistrationApproval
	RegistrationOpen     = oauth.RegistrationOpen
)

// ValidateOrigin checks a client's allowed origin (oauth.ValidateOrigin).
func ValidateOrigin(raw string) error { return oauth.ValidateOrigin(raw) }

// ValidateRedirectURI checks a redirect URI at registration.
func ValidateRedirectURI(raw string) error { return oauth.ValidateRedirectURI(raw) }

// ValidateResource checks a resource indicator (RFC 8707).
func ValidateResource(raw string) error { return oauth.ValidateResource(raw) }

// Grant types (ClientConfig.GrantTypes).
const (
	GrantAuthorizationCode = oauth.GrantAuthorizationCode
	GrantRefreshToken      = oauth.GrantRefreshToken
	GrantClientCredentials = oauth.GrantClientCredentials
	// GrantDeviceCode is the device authorization grant (RFC 8628); GrantDeviceCodeShort
	// its short form in a configuration.
	GrantDeviceCode      = oauth.GrantDeviceCode
	GrantDeviceCodeShort = oauth.GrantDeviceCodeShort
)

// What handlers/protect reads of the OAuth domain's answers.
const (
	// GrantTypeClientCredentials marks access tokens of the client credentials grant.
	GrantTypeClientCredentials = oauth.GrantTypeClientCredentials
	// ErrCodeAccessDenied is the error code of an authorization response refused by the
	// portal (RFC 6749 §4.1.2.1), as the in-process client reads it from the redirect.
	ErrCodeAccessDenied = "access_denied"
	// ErrInternal is the kind of an *Error that is the server's failure, not the request's.
	ErrInternal = oauth.Internal
	// ACRMultiFactor is the acr value a step-up asks for.
	ACRMultiFactor = login.ACRMultiFactor
)

// TokenResponse is a successful token response; Error an OAuth error.
type (
	TokenResponse = oauth.TokenResponse
	Error         = oauth.Error
)

// NewUser describes a user to create; SessionMeta where a session starts.
type (
	NewUser     = account.NewUser
	SessionMeta = sessions.Meta
)
