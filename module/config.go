package module

import (
	"encoding/json"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// ClientConfig registers an OAuth 2.0 / OpenID Connect client.
type ClientConfig struct {
	// ID is the client_id: 1-128 letters, digits and . _ - : @. Required.
	ID string `json:"id"`
	// Name is shown to users (default: the ID).
	Name string `json:"name,omitempty"`
	// Secret makes the client confidential (client_secret_basic or client_secret_post); at
	// least 16 characters. Give it as a placeholder, {env.DEMO_SECRET} or
	// {file./run/secrets/demo}, resolved when the config is loaded: a secret written here
	// in clear is shown by Caddy's config API (GET /config/) and kept in autosave.json. A
	// placeholder that resolves to nothing is a load error. Without a secret (or
	// SecretHash) the client is public and must use PKCE.
	Secret string `json:"secret,omitempty"`
	// SecretHash makes the client confidential like Secret, but holds only a verifier of the
	// secret, printed by `gatehouse hash-secret` ("$sha256$<salt>$<digest>": SHA-256 of a
	// 16-byte random salt and the secret), so that neither the file nor the config API
	// shows a usable secret. Set Secret or SecretHash, not both.
	SecretHash string `json:"secret_hash,omitempty"`
	// RedirectURIs are the exact callback URLs (https, or http on a loopback host; no
	// fragment). A site protected by gatehouse_protect with this client registers
	// <site origin>/.gatehouse/callback.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// PostLogoutRedirectURIs are the exact URLs the portal may return to after logout.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// Scopes the client may request (default: openid profile email offline_access).
	Scopes []string `json:"scopes,omitempty"`
	// GrantTypes the client may use (default: authorization_code refresh_token; also
	// client_credentials, and urn:ietf:params:oauth:grant-type:device_code or its short form
	// device_code for the device authorization grant, RFC 8628).
	GrantTypes []string `json:"grant_types,omitempty"`
	// PKCE is "required" or "optional" (default: required for public clients, optional for
	// confidential ones; public clients cannot make it optional).
	PKCE string `json:"pkce,omitempty"`
	// AccessTokenLifetime, IDTokenLifetime, RefreshTokenLifetime and RefreshTokenIdle
	// override the app's token lifetimes for this client.
	AccessTokenLifetime  caddy.Duration `json:"access_token_lifetime,omitempty"`
	IDTokenLifetime      caddy.Duration `json:"id_token_lifetime,omitempty"`
	RefreshTokenLifetime caddy.Duration `json:"refresh_token_lifetime,omitempty"`
	RefreshTokenIdle     caddy.Duration `json:"refresh_token_idle,omitempty"`
	// IDTokenAlg signs this client's ID tokens (id_token_signed_response_alg; default the
	// app's, RS256).
	IDTokenAlg string `json:"id_token_alg,omitempty"`
	// AccessTokenAlg signs this client's access tokens (default the app's, RS256): ES256
	// for a client that asks for many tokens, when every resource server its tokens go to
	// verifies ES256.
	AccessTokenAlg string `json:"access_token_alg,omitempty"`
	// Resources are the resource indicators (RFC 8707, absolute URIs) this client may
	// request as the access token's audience with the resource parameter.
	Resources []string `json:"resources,omitempty"`
	// BackchannelLogoutURI receives a logout token (OpenID Connect Back-Channel Logout 1.0)
	// when a session in which the client obtained tokens ends.
	BackchannelLogoutURI string `json:"backchannel_logout_uri,omitempty"`
	// AllowedOrigins are browser origins (https://app.example.com: scheme, host and port, no
	// path) whose pages may call the token, revocation and userinfo endpoints for this
	// public client (CORS), besides the origins of its redirect URIs, which are always
	// allowed. Only for public clients.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// Consent is "required" for a third-party client: before its first authorization the
	// user sees a consent page naming the client and what each requested scope gives it,
	// and the decision is remembered per user, client and scope set (revocable from the
	// account page's connected apps). "none" (the default) is a first-party client, which
	// never shows the page.
	Consent string `json:"consent,omitempty"`
	// AccessTokenClaims are user claims this client's access tokens carry besides the
	// defaults: "roles", "permissions" (the user's; each list capped at 2 KB like groups),
	// so that a gatehouse_protect route can use them without a store read.
	AccessTokenClaims []string `json:"access_token_claims,omitempty"`
	// RequirePushedAuthorizationRequests: this client must push its authorization requests
	// to the /par endpoint (RFC 9126 §6); a plain /authorize request is refused with
	// invalid_request. Default false.
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests,omitempty"`
	// Approval sets how this client's users may approve transactions (Allow: ["otp"] adds
	// an email or SMS code to the passkey).
	Approval ApprovalConfig `json:"approval,omitzero"`
	// DefaultJourney is the journey (gatehouse.journeys) this client's authorization
	// requests run when they name none with journey=<name> (default: the built-in login).
	DefaultJourney string `json:"default_journey,omitempty"`
}

// PARConfig sets pushed authorization requests (RFC 9126).
type PARConfig struct {
	// Lifetime is a request_uri's lifetime, its expires_in (default 60s; at most 10m).
	Lifetime caddy.Duration `json:"lifetime,omitempty"`
	// Required makes every client push its authorization requests (advertised as
	// require_pushed_authorization_requests). Default false.
	Required bool `json:"required,omitempty"`
}

// ApprovalConfig sets transaction approval: the user approves the approval_data of a pushed
// request with a passkey, always; Allow adds other ways.
type ApprovalConfig struct {
	// Allow lists the other ways: "otp" (a code sent to the verified email address, or
	// else phone). Default none: passkeys only.
	Allow []string `json:"allow,omitempty"`
}

func (c ApprovalConfig) allowsOTP() bool { return hasString(c.Allow, "otp") }

// IDP converts the configuration (secret placeholders resolved by the caller).
func (c ClientConfig) IDP(secret string) idp.ClientConfig {
	return idp.ClientConfig{ID: c.ID, Name: c.Name, Secret: secret, SecretHash: c.SecretHash, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Scopes: c.Scopes, GrantTypes: c.GrantTypes, PKCE: c.PKCE,
		AccessTokenLifetime: time.Duration(c.AccessTokenLifetime), IDTokenLifetime: time.Duration(c.IDTokenLifetime),
		RefreshTokenLifetime: time.Duration(c.RefreshTokenLifetime), RefreshTokenIdle: time.Duration(c.RefreshTokenIdle),
		IDTokenAlg: c.IDTokenAlg, AccessTokenAlg: c.AccessTokenAlg, Resources: c.Resources,
		BackchannelLogoutURI: c.BackchannelLogoutURI, AllowedOrigins: c.AllowedOrigins, Consent: c.Consent,
		AccessTokenClaims: c.AccessTokenClaims, RequirePushedRequests: c.RequirePushedAuthorizationRequests,
		ApprovalOTP: c.Approval.allowsOTP(), DefaultJourney: c.DefaultJourney}
}

// KeysConfig sets signing-key rotation.
type KeysConfig struct {
	// RotateEvery replaces each signing key after this long (default 90 days). A new key is
	// published 5 minutes before it signs; a replaced key stays published as long as tokens
	// it signed can be valid.
	RotateEvery caddy.Duration `json:"rotate_every,omitempty"`
}

// PasskeysConfig sets the WebAuthn relying party. The defaults suit a portal served at the
// issuer's origin; set them only when passkeys must work across subdomains.
type PasskeysConfig struct {
	// RPID is the relying party ID that passkeys are bound to: the issuer's host or a parent
	// domain of it (default: the issuer's host). Changing it later orphans every passkey.
	RPID string `json:"rp_id,omitempty"`
	// RPName is the name authenticators show (default: branding.product_name, or Gatehouse).
	RPName string `json:"rp_name,omitempty"`
	// Origins are the page origins allowed to run ceremonies (default: the issuer's origin).
	Origins []string `json:"origins,omitempty"`
}

// TokenConfig sets token lifetimes and algorithms.
type TokenConfig struct {
	// AccessTokenLifetime (default 10m). Access tokens are verified locally; a logout still
	// revokes them at once through the revocation list.
	AccessTokenLifetime caddy.Duration `json:"access_token_lifetime,omitempty"`
	// IDTokenLifetime (default 1h).
	IDTokenLifetime caddy.Duration `json:"id_token_lifetime,omitempty"`
	// RefreshTokenLifetime is the absolute lifetime of a refresh-token family (default 30 days).
	RefreshTokenLifetime caddy.Duration `json:"refresh_token_lifetime,omitempty"`
	// RefreshTokenIdle is how long an unused refresh token stays valid (default 14 days).
	RefreshTokenIdle caddy.Duration `json:"refresh_token_idle,omitempty"`
	// CodeLifetime is the authorization code's lifetime (default 1m).
	CodeLifetime caddy.Duration `json:"code_lifetime,omitempty"`
	// AccessTokenAlg signs access tokens: RS256 (default), ES256 or EdDSA. RS256 is the one
	// algorithm every RFC 9068 resource server verifies, and by far the most expensive to
	// sign (about 90% of a client_credentials grant's CPU); ES256 costs a fifteenth of it
	// and is verified by gatehouse_protect and common JOSE libraries.
	AccessTokenAlg string `json:"access_token_alg,omitempty"`
	// IDTokenAlg signs ID tokens: RS256 (default), ES256 or EdDSA.
	IDTokenAlg string `json:"id_token_alg,omitempty"`
	// Leeway tolerates clock skew between servers when checking token times (default 30s,
	// at most 5m).
	Leeway caddy.Duration `json:"leeway,omitempty"`
}

// SessionConfig sets the portal session's lifetimes.
type SessionConfig struct {
	// Idle ends a session unused for this long (default 24h).
	Idle caddy.Duration `json:"idle,omitempty"`
	// Lifetime ends a session this long after login, used or not (default 14 days).
	Lifetime caddy.Duration `json:"lifetime,omitempty"`
}

// LockoutConfig limits failed credential attempts.
type LockoutConfig struct {
	// AccountMaxFailures failed logins per account within Window lock it until the window
	// ends (default 10). The same limit applies to unknown accounts, so it reveals nothing.
	AccountMaxFailures int `json:"account_max_failures,omitempty"`
	// IPMaxFailures failed logins per client IP within Window (default 100). The client IP
	// is Caddy's, which honours trusted_proxies only.
	IPMaxFailures int `json:"ip_max_failures,omitempty"`
	// Window is the counting window (default 15m).
	Window caddy.Duration `json:"window,omitempty"`
}

// BrandingConfig customises the hosted pages and the messages Gatehouse sends.
type BrandingConfig struct {
	// ProductName is shown on every page and message (default "Gatehouse").
	ProductName string `json:"product_name,omitempty"`
	// LogoURL is an https URL of the logo shown in HTML email and on the pages.
	LogoURL string `json:"logo_url,omitempty"`
	// Color is the accent colour as #rrggbb (buttons, links).
	Color string `json:"color,omitempty"`
	// Templates is a directory whose files override the built-in email and SMS templates
	// (same file names; see notify/templates).
	Templates string `json:"templates,omitempty"`
}

// EmailConfig selects how email is delivered.
type EmailConfig struct {
	// SenderRaw is the email sender module (gatehouse.email.smtp or gatehouse.email.outbox).
	// Default on a development issuer (http on loopback) with an email login method enabled:
	// the outbox. Required on any other issuer when an email login method is enabled. Without
	// a sender, no email is sent (no verification, no recovery by email).
	SenderRaw json.RawMessage `json:"sender,omitempty" caddy:"namespace=gatehouse.email inline_key=sender"`
}

// SMSConfig selects how text messages are delivered.
type SMSConfig struct {
	// SenderRaw is the SMS sender module (gatehouse.sms.twilio, gatehouse.sms.webhook or
	// gatehouse.sms.outbox), with the same default rule as EmailConfig.
	SenderRaw json.RawMessage `json:"sender,omitempty" caddy:"namespace=gatehouse.sms inline_key=sender"`
	// AllowedPrefixes limits text messages to numbers starting with one of these E.164
	// prefixes (+1, +44): a defence against SMS pumping to premium-rate ranges. Empty allows
	// every number.
	AllowedPrefixes []string `json:"allowed_prefixes,omitempty"`
}
