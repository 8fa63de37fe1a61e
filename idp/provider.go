package idp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/login/emailcode"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"
	"github.com/gatehouse-dev/gatehouse/login/recovery"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/login/smscode"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// Provider is the identity provider: its configuration, the resources it was built on, and
// the pieces of the identity core. Build it with New; every field is set.
type Provider struct {
	Config
	// Store is the store every piece was built on (for tools and tests; handlers never get
	// it).
	Store       store.Store
	Keys        *keys.Ring
	Revocations *tokens.RevocationList
	// Verifier verifies the access and ID tokens this provider issues (revocation
	// included).
	Verifier *tokens.Verifier
	Now      func() time.Time
	Logger   *slog.Logger

	// Sessions keeps the portal sessions and writes revocations; MFA holds the
	// second-factor rules and the logins waiting for their second factor.
	Sessions *sessions.Manager
	MFA      *mfa.Rules
	// Lockout limits failed credential attempts; Codes is the one-time code machinery and
	// the message channels.
	Lockout *lockout.Limiter
	Codes   *otp.Codes
	// Accounts keeps the user accounts; Signup is self-service sign-up and invitations;
	// Verification proves control of email addresses and phone numbers.
	Accounts     *account.Accounts
	Signup       *account.Signup
	Verification *account.Verification

	// The login methods. CodeLogin finishes a login by code of either channel.
	Password  *pwlogin.Method
	EmailCode *emailcode.Method
	SMSCode   *smscode.Method
	CodeLogin *otp.LoginCodes
	MagicLink *magiclink.Method
	Recovery  *recovery.Method
	Passkey   *passkey.Method
	// Approval runs transaction approvals (passkey or code; package approval).
	Approval *approval.Approver
	Social   *social.Method
	// TOTP is the authenticator app; RecoveryCodes the last-resort second factor.
	TOTP          *totp.Method
	RecoveryCodes *recoverycode.Codes

	// AppCredentials are the users' app passwords and personal access tokens.
	AppCredentials *appcred.Service

	// Tokens signs the tokens; OAuth is the authorization server.
	Tokens *issue.Issuer
	OAuth  *oauth.Server
}

// New builds the provider. clients are the statically configured clients (already
// validated with NewClient); h hashes passwords; rl is the revocation list the protect
// handlers share.
func New(cfg Config, s store.Store, ring *keys.Ring, h *password.Hasher, rl *tokens.RevocationList,
	clients []*Client, now func() time.Time, logger *slog.Logger) (*Provider, error) {
	cfg.Defaults()
	if cfg.Issuer == "" {
		return nil, errors.New("issuer is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{Config: cfg, Store: s, Keys: ring, Revocations: rl, Now: now, Logger: logger}
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
	p.Lockout = &lockout.Limiter{Store: s, Now: now, Logger: logger, Window: cfg.LockoutWindow, Shared: cfg.SharedStore}
	p.AppCredentials = &appcred.Service{Store: s, Revocations: rl, Limiter: p.Lockout, IPMaxFailures: cfg.IPMaxFailures,
		SecretMaxFailures: cfg.AccountMaxFailures, Now: now, Logger: logger}
	p.Sessions = &sessions.Manager{Store: s, Revocations: rl, Now: now, Logger: logger, Audit: cfg.Audit,
		Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime,
		// As long as any access token issued before a revocation can be valid.
		RevocationTTL: max(cfg.AccessTokenLifetime, p.Verifier.MaxLifetime, cfg.CodeLifetime) + 2*cfg.Leeway}
	p.Codes = &otp.Codes{Store: s, Limiter: p.Lockout, Messenger: cfg.Messenger, Methods: cfg.Methods,
		EmailEnabled: cfg.EmailEnabled, SMSEnabled: cfg.SMSEnabled, SMSAllowedPrefixes: cfg.SMSAllowedPrefixes,
		CodeLifetime: cfg.CodeTTL, LinkLifetime: cfg.MagicLinkTTL, IPMaxFailures: cfg.IPMaxFailures, Now: now, Logger: logger}
	p.Accounts = &account.Accounts{Store: s, Hasher: h, Sessions: p.Sessions, Codes: p.Codes, Now: now, Logger: logger, Audit: cfg.Audit,
		ClientExists: func(ctx context.Context, id string) error { _, err := p.OAuth.Client(ctx, id); return err }}
	p.Signup = &account.Signup{Accounts: p.Accounts, Store: s, Hasher: h, Codes: p.Codes, Mode: cfg.SignupMode,
		RevealsExisting: cfg.SignupRevealsExisting, InviteLifetime: cfg.InviteLifetime, Issuer: cfg.Issuer, Now: now}
	p.Verification = &account.Verification{Accounts: p.Accounts, Codes: p.Codes}
	p.Password = &pwlogin.Method{Metrics: cfg.Metrics, Audit: cfg.Audit, Store: s, Hasher: h, Limiter: p.Lockout, AccountMaxFailures: cfg.AccountMaxFailures,
		IPMaxFailures: cfg.IPMaxFailures, Now: now, Logger: logger}
	p.EmailCode = &emailcode.Method{Metrics: cfg.Metrics, Audit: cfg.Audit, Codes: p.Codes, Accounts: p.Accounts}
	p.SMSCode = &smscode.Method{Metrics: cfg.Metrics, Audit: cfg.Audit, Codes: p.Codes, Accounts: p.Accounts}
	p.CodeLogin = &otp.LoginCodes{Audit: cfg.Audit, Codes: p.Codes, Email: p.EmailCode, SMS: p.SMSCode}
	p.MagicLink = &magiclink.Method{Metrics: cfg.Metrics, Audit: cfg.Audit, Store: s, Codes: p.Codes, Accounts: p.Accounts, Issuer: cfg.Issuer, Now: now}
	p.Recovery = &recovery.Method{Audit: cfg.Audit, Store: s, Codes: p.Codes, Accounts: p.Accounts, Sessions: p.Sessions}
	p.Passkey = &passkey.Method{Metrics: cfg.Metrics, Audit: cfg.Audit, WebAuthn: wa, Store: s, Accounts: p.Accounts, Signup: p.Signup, Sessions: p.Sessions,
		Keys: ring, Now: now, Logger: logger}
	p.Signup.Passkeys = p.Passkey
	p.Social = &social.Method{Metrics: cfg.Metrics, Audit: cfg.Audit, Providers: cfg.SocialProviders, Issuer: cfg.Issuer, HTTPClient: cfg.SocialHTTPClient,
		Limits: cfg.SocialLimits, Store: s, Accounts: p.Accounts, Sessions: p.Sessions, Codes: p.Codes, Now: now, Logger: logger}
	p.MFA = &mfa.Rules{Audit: cfg.Audit, Store: s, Passkeys: p.Passkey, Sessions: p.Sessions, Now: now}
	p.RecoveryCodes = &recoverycode.Codes{Store: s, Limiter: p.Lockout, Now: now}
	p.TOTP = &totp.Method{Store: s, Limiter: p.Lockout, Recovery: p.RecoveryCodes, Key: ring.DeriveKey("totp-secret-v1"),
		Issuer: totpIssuer(cfg.Issuer), Sessions: p.Sessions, Notify: p.Codes.Notify, Now: now}
	p.Tokens = &issue.Issuer{Issuer: cfg.Issuer, TenantID: cfg.TenantID, Keys: ring, Store: s,
		AccessTokenAlg: cfg.AccessTokenAlg, IDTokenAlg: cfg.IDTokenAlg, AccessTokenLifetime: cfg.AccessTokenLifetime,
		IDTokenLifetime: cfg.IDTokenLifetime, Logger: logger}
	p.OAuth = &oauth.Server{Metrics: cfg.Metrics, Audit: cfg.Audit, Issuer: cfg.Issuer, Store: s, Configured: configured, Tokens: p.Tokens, Sessions: p.Sessions,
		Limiter: p.Lockout, Verifier: p.Verifier, Revocations: rl, CodeLifetime: cfg.CodeLifetime,
		AccessTokenLifetime: cfg.AccessTokenLifetime, RefreshTokenIdle: cfg.RefreshTokenIdle,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime, Leeway: cfg.Leeway, ClientMaxFailures: cfg.ClientMaxFailures,
		DeviceKey: ring.DeriveKey("device-user-code"), Registration: cfg.Registration, Now: now, Logger: logger,
		RequirePushedRequests: cfg.RequirePushedRequests, PushedRequestLifetime: cfg.PushedRequestLifetime}
	p.OAuth.StepUpRequired = p.MFA.StepUpRequired
	p.AppCredentials.StepUpRequired = p.MFA.StepUpRequired
	p.Approval = &approval.Approver{Passkeys: p.Passkey, Codes: p.Codes}
	p.Sessions.Logout = p.OAuth
	p.AppCredentials.Sessions = p.Sessions
	if cfg.SignupMode != SignupClosed && !p.Codes.CanEmail() && !cfg.SignupRevealsExisting {
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

// totpIssuer is the name authenticator apps show above the account: the issuer's host.
func totpIssuer(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return issuer
}
