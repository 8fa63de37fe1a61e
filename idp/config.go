package idp

import (
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/metrics"
)

// Config holds the provider's settings. Zero durations take the defaults of Defaults.
type Config struct {
	// Issuer is the exact issuer URL (no trailing slash).
	Issuer string
	// TenantID is the tid claim.
	TenantID string
	// SignupMode is SignupOpen, SignupClosed or SignupInvite.
	SignupMode string
	// SignupRevealsExisting keeps the sign-up of earlier versions when email can be sent:
	// the account is created at once and an address that has an account is refused with
	// ErrEmailTaken, which tells anyone which addresses are registered (user enumeration,
	// CR-06). Off (the default), sign-up first proves the address with an emailed code and
	// answers the same for every address (StartSignup). Without email, sign-up always works
	// the old way.
	SignupRevealsExisting bool
	// AccessTokenAlg and IDTokenAlg are RS256 (the default of both), ES256 or EdDSA.
	AccessTokenAlg string
	IDTokenAlg     string

	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	CodeLifetime         time.Duration
	RefreshTokenIdle     time.Duration
	RefreshTokenLifetime time.Duration
	SessionIdle          time.Duration
	SessionLifetime      time.Duration
	InviteLifetime       time.Duration

	// Leeway tolerates clock skew when verifying tokens.
	Leeway time.Duration

	// AccountMaxFailures failed logins per account within LockoutWindow lock the account
	// until the window ends; IPMaxFailures does the same per client IP.
	AccountMaxFailures int
	IPMaxFailures      int
	LockoutWindow      time.Duration
	// ClientMaxFailures limits failed client authentications per client ID.
	ClientMaxFailures int
	// SharedStore is set when several instances use the store (PostgreSQL): the password
	// and code attempt limits then reserve attempts in the store (lockout.Limiter.Shared).
	SharedStore bool
	// Passkeys configures WebAuthn.
	Passkeys PasskeyConfig

	// Methods are the enabled passwordless methods besides passkeys: MethodEmailCode,
	// MethodMagicLink, MethodSMSCode.
	Methods []string
	// Messenger delivers codes and links; nil means no email or SMS can be sent (the email
	// and SMS methods, verification and recovery are then unavailable).
	Messenger Messenger
	// Metrics receives the logins, MFA challenges, token responses and refresh token reuse
	// (nil: not counted).
	Metrics metrics.Recorder
	// Audit records the security events (logins, lockouts, MFA challenges, recoveries,
	// password and passkey changes, tokens, sessions ended, users disabled); nil records
	// nothing.
	Audit audit.Recorder
	// EmailEnabled and SMSEnabled tell whether Messenger can deliver email / SMS.
	EmailEnabled, SMSEnabled bool
	// CodeTTL is how long an email or SMS code is valid (default 10m, at most 10m);
	// MagicLinkTTL how long a magic link is (default 10m, at most 15m).
	CodeTTL, MagicLinkTTL time.Duration
	// SocialProviders are the upstream identity providers (social login).
	SocialProviders []*SocialProvider
	// SocialHTTPClient, if set, replaces the client for upstream providers (tests; default:
	// 10 s timeout, 1 MiB bodies).
	SocialHTTPClient *http.Client
	// SocialLimits bound the social logins a client IP may leave unfinished (zero fields:
	// the defaults).
	SocialLimits SocialLimits
	// Registration turns on dynamic client registration (RFC 7591/7592; zero: off).
	Registration Registration
	// PushedRequestLifetime is a request_uri's lifetime (RFC 9126; 0: 60 s);
	// RequirePushedRequests makes every client push its authorization requests.
	PushedRequestLifetime time.Duration
	RequirePushedRequests bool
	// ApprovalOTP lets every client's users approve a transaction with an email or SMS
	// code instead of a passkey (approval { allow otp }).
	ApprovalOTP bool
	// SMSAllowedPrefixes limits SMS to numbers starting with one of these (E.164 prefixes
	// such as +1, +44); empty allows any number.
	SMSAllowedPrefixes []string
}

// Defaults fills the zero fields of c.
func (c *Config) Defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.SignupMode == "" {
		c.SignupMode = SignupClosed
	}
	if c.AccessTokenAlg == "" {
		c.AccessTokenAlg = keys.RS256
	}
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = keys.RS256
	}
	def(&c.AccessTokenLifetime, 10*time.Minute)
	def(&c.IDTokenLifetime, time.Hour)
	def(&c.CodeLifetime, time.Minute)
	def(&c.RefreshTokenIdle, 14*24*time.Hour)
	def(&c.RefreshTokenLifetime, 30*24*time.Hour)
	def(&c.SessionIdle, 24*time.Hour)
	def(&c.SessionLifetime, 14*24*time.Hour)
	def(&c.InviteLifetime, 7*24*time.Hour)
	def(&c.Leeway, 30*time.Second)
	def(&c.LockoutWindow, 15*time.Minute)
	def(&c.CodeTTL, 10*time.Minute)
	def(&c.MagicLinkTTL, 10*time.Minute)
	if c.AccountMaxFailures == 0 {
		c.AccountMaxFailures = 10
	}
	if c.IPMaxFailures == 0 {
		c.IPMaxFailures = 100
	}
	if c.ClientMaxFailures == 0 {
		c.ClientMaxFailures = 50
	}
}
