// Package idp is Gatehouse's identity provider core, free of HTTP: accounts and password
// login with attempt limits, portal sessions, clients, authorization codes, token grants
// (authorization code with PKCE, refresh with rotation and reuse detection), ID-token claims
// and revocation. The HTTP handlers (handlers/oidc, handlers/login, handlers/admin,
// handlers/protect) parse requests into calls on a *Provider and render its results; the
// protect handler also calls it in-process to exchange the code of a browser login and to
// refresh the access token held in its cookie.
//
// Every secret it hands out comes from crypto/rand (package secret) and is stored hashed.
// Security-critical writes go through the store's durable methods before a result is
// returned, and every revocation also lands in the in-memory tokens.RevocationList so that
// locally verified access tokens stop working at once on this instance and within the sync
// interval on the others.
package idp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/emailcode"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"
	"github.com/gatehouse-dev/gatehouse/login/recovery"
	"github.com/gatehouse-dev/gatehouse/login/smscode"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Signup modes.
const (
	SignupOpen   = account.SignupOpen
	SignupClosed = account.SignupClosed
	SignupInvite = account.SignupInvite
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
	// AccessTokenAlg and IDTokenAlg are RS256 or ES256.
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
	// Passkeys configures WebAuthn.
	Passkeys PasskeyConfig

	// Methods are the enabled passwordless methods besides passkeys: MethodEmailCode,
	// MethodMagicLink, MethodSMSCode.
	Methods []string
	// Messenger delivers codes and links; nil means no email or SMS can be sent (the email
	// and SMS methods, verification and recovery are then unavailable).
	Messenger Messenger
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

// Provider is the identity provider. Build it with New.
type Provider struct {
	Config
	Store       store.Store
	Keys        *keys.Ring
	Hasher      *password.Hasher
	Revocations *tokens.RevocationList
	// Verifier verifies the access tokens this provider issues (revocation included).
	Verifier *tokens.Verifier
	Now      func() time.Time
	Logger   *slog.Logger

	// Lockout limits failed credential attempts.
	Lockout *lockout.Limiter
	// Sessions keeps the portal sessions and writes revocations.
	Sessions *sessions.Manager
	// Codes is the one-time code machinery and the message channels.
	Codes *otp.Codes
	// Accounts keeps the user accounts; Signups is self-service sign-up and invitations;
	// Verification proves control of email addresses and phone numbers.
	Accounts     *account.Accounts
	Signups      *account.Signup
	Verification *account.Verification

	// The login methods.
	Password  *pwlogin.Method
	EmailCode *emailcode.Method
	SMSCode   *smscode.Method
	// CodeLogin finishes a login by code of either channel.
	CodeLogin *otp.LoginCodes
	MagicLink *magiclink.Method
	Recovery  *recovery.Method
	Passkey   *passkey.Method
	Social    *social.Method
	// Tokens signs the tokens; OAuth is the authorization server.
	Tokens *issue.Issuer
	OAuth  *oauth.Server
	// MFA holds the second-factor rules and the logins waiting for their second factor.
	MFA *mfa.Rules

	clients map[string]*Client
}

// New returns a provider. clients are the statically configured clients (already
// validated with ValidateClient).
func New(cfg Config, s store.Store, ring *keys.Ring, h *password.Hasher, rl *tokens.RevocationList,
	clients []*Client, now func() time.Time, logger *slog.Logger) (*Provider, error) {
	cfg.Defaults()
	if cfg.Issuer == "" {
		return nil, errors.New("issuer is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{Config: cfg, Store: s, Keys: ring, Hasher: h, Revocations: rl, Now: now,
		Logger: logger}
	configured := map[string]*Client{}
	for _, c := range clients {
		if _, dup := configured[c.ID]; dup {
			return nil, fmt.Errorf("client %q is defined twice", c.ID)
		}
		configured[c.ID] = c
	}
	wa, err := passkey.NewRelyingParty(cfg.Issuer, cfg.Passkeys)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	p.Verifier = &tokens.Verifier{
		Issuer:      cfg.Issuer,
		Keys:        ring,
		Now:         now,
		Leeway:      cfg.Leeway,
		MaxLifetime: maxAccessTokenLifetime(cfg.AccessTokenLifetime, clients),
		Revocations: rl,
	}
	p.Lockout = &lockout.Limiter{Store: s, Now: now, Logger: logger, Window: cfg.LockoutWindow}
	p.Sessions = &sessions.Manager{Store: s, Revocations: rl, Now: now, Logger: logger,
		Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime,
		// As long as any access token issued before a revocation can be valid.
		RevocationTTL: max(cfg.AccessTokenLifetime, p.Verifier.MaxLifetime, cfg.CodeLifetime) + 2*cfg.Leeway}
	p.Codes = &otp.Codes{Store: s, Limiter: p.Lockout, Messenger: cfg.Messenger, Methods: cfg.Methods,
		EmailEnabled: cfg.EmailEnabled, SMSEnabled: cfg.SMSEnabled, SMSAllowedPrefixes: cfg.SMSAllowedPrefixes,
		CodeLifetime: cfg.CodeTTL, LinkLifetime: cfg.MagicLinkTTL, IPMaxFailures: cfg.IPMaxFailures, Now: now, Logger: logger}
	p.Accounts = &account.Accounts{Store: s, Hasher: h, Sessions: p.Sessions, Codes: p.Codes, Now: now, Logger: logger,
		ClientExists: func(ctx context.Context, id string) error { _, err := p.OAuth.Client(ctx, id); return err }}
	p.Signups = &account.Signup{Accounts: p.Accounts, Store: s, Hasher: h, Codes: p.Codes, Mode: cfg.SignupMode,
		RevealsExisting: cfg.SignupRevealsExisting, InviteLifetime: cfg.InviteLifetime, Issuer: cfg.Issuer, Now: now,
	}
	p.Verification = &account.Verification{Accounts: p.Accounts, Codes: p.Codes}
	p.Password = &pwlogin.Method{Store: s, Hasher: h, Limiter: p.Lockout, AccountMaxFailures: cfg.AccountMaxFailures,
		IPMaxFailures: cfg.IPMaxFailures, Now: now, Logger: logger}
	p.EmailCode = &emailcode.Method{Codes: p.Codes, Accounts: p.Accounts}
	p.SMSCode = &smscode.Method{Codes: p.Codes, Accounts: p.Accounts}
	p.CodeLogin = &otp.LoginCodes{Codes: p.Codes, Email: p.EmailCode, SMS: p.SMSCode}
	p.MagicLink = &magiclink.Method{Store: s, Codes: p.Codes, Accounts: p.Accounts, Issuer: cfg.Issuer, Now: now}
	p.Recovery = &recovery.Method{Store: s, Codes: p.Codes, Accounts: p.Accounts, Sessions: p.Sessions}
	p.Passkey = &passkey.Method{WebAuthn: wa, Store: s, Accounts: p.Accounts, Signup: p.Signups, Sessions: p.Sessions,
		Keys: ring, Now: now, Logger: logger}
	p.Signups.Passkeys = p.Passkey
	p.Social = &social.Method{Providers: cfg.SocialProviders, Issuer: cfg.Issuer, HTTPClient: cfg.SocialHTTPClient,
		Limits: cfg.SocialLimits, Store: s, Accounts: p.Accounts, Sessions: p.Sessions, Codes: p.Codes, Now: now, Logger: logger}
	p.MFA = &mfa.Rules{Store: s, Passkeys: p.Passkey, Sessions: p.Sessions, Now: now}
	p.Tokens = &issue.Issuer{Issuer: cfg.Issuer, TenantID: cfg.TenantID, Keys: ring, Store: s,
		AccessTokenAlg: cfg.AccessTokenAlg, IDTokenAlg: cfg.IDTokenAlg, AccessTokenLifetime: cfg.AccessTokenLifetime,
		IDTokenLifetime: cfg.IDTokenLifetime, Logger: logger}
	p.OAuth = &oauth.Server{Issuer: cfg.Issuer, Store: s, Configured: configured, Tokens: p.Tokens, Sessions: p.Sessions,
		Limiter: p.Lockout, Verifier: p.Verifier, Revocations: rl, CodeLifetime: cfg.CodeLifetime,
		AccessTokenLifetime: cfg.AccessTokenLifetime, RefreshTokenIdle: cfg.RefreshTokenIdle,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime, Leeway: cfg.Leeway, ClientMaxFailures: cfg.ClientMaxFailures,
		Now: now, Logger: logger}
	p.Sessions.Logout = p.OAuth
	if cfg.SignupMode != SignupClosed && !p.CanEmail() && !cfg.SignupRevealsExisting {
		logger.Warn("sign-up tells whether an address has an account: without an email sender there is no verification code to send first; configure email to avoid it", "signup", cfg.SignupMode)
	}
	if wa == nil && !cfg.Passkeys.Disabled {
		logger.Warn("passkeys are off: the issuer's host is an IP address and WebAuthn needs a domain name; use a hostname (localhost works) or set passkeys rp_id", "issuer", cfg.Issuer)
	}
	return p, nil
}

// maxAccessTokenLifetime is the longest access-token lifetime of the provider and its
// clients (access_token_lifetime per client): what the verifier accepts, and how long
// revocations and used codes must be remembered.
func maxAccessTokenLifetime(def time.Duration, clients []*Client) time.Duration {
	for _, c := range clients {
		def = max(def, c.AccessTokenLifetime)
	}
	return def
}
