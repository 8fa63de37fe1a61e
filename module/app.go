// Package module is Gatehouse's Caddy glue: the `gatehouse` app (identity-provider state:
// store, keys, clients, users, sessions, tokens), the `gatehouse_portal` and
// `gatehouse_protect` HTTP handlers, the `gatehouse.storage.badger` storage module, the
// `admin.api.gatehouse` admin routes and the `gatehouse user` / `gatehouse invite` commands.
//
// The JSON configuration is the source of truth; package caddyfile adapts the Caddyfile to
// it. Provision builds the runtime objects of the domain packages from the configuration;
// Validate reports every problem at once with the option it concerns; Cleanup releases the
// store through a usage pool, so that a config reload reuses the open Badger directory
// instead of failing on its lock. Only this package and caddyfile import Caddy.
package module

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/handlers/protect"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/ui"
)

func init() {
	caddy.RegisterModule(App{})
}

// Login methods that can be enabled.
var loginMethods = []string{"password", "passkey", idp.MethodEmailCode, idp.MethodMagicLink, idp.MethodSMSCode}

// App is the `gatehouse` app: the identity provider's configuration and state.
type App struct {
	// Issuer is the portal's URL exactly as it appears in tokens (the iss claim): https, or
	// http on a loopback host; no query, fragment or trailing slash. Required.
	Issuer string `json:"issuer,omitempty"`
	// StorageRaw selects the store (default: badger under Caddy's data directory).
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=gatehouse.storage inline_key=module"`
	// TenantID is the tid claim (default: derived from the issuer).
	TenantID string `json:"tenant_id,omitempty"`
	// Signup is "open" (anyone may create an account), "invite" (with an invitation code
	// from `gatehouse invite`) or "closed" (default: accounts are created by an
	// administrator).
	Signup string `json:"signup,omitempty"`
	// SignupRevealsExisting brings back the sign-up of earlier versions: the account is
	// created (and logged in) at once, and an address that already has an account is refused
	// with 409 email_taken — which tells anyone which addresses are registered (user
	// enumeration). Default false: when email can be sent, sign-up first emails a code to the
	// address (the account is created, verified, when the code comes back) and answers the
	// same for every address; an address that has an account is told by email instead.
	// Without an email sender sign-up always works the old way (a warning is logged).
	SignupRevealsExisting bool `json:"signup_reveals_existing,omitempty"`
	// Login lists the enabled login methods: password and passkey (default: both). Leaving
	// out passkey turns passkeys off; password cannot be left out yet.
	Login []string `json:"login,omitempty"`
	// Clients are the registered OAuth clients.
	Clients []ClientConfig `json:"clients,omitempty"`
	// Tokens sets token lifetimes and algorithms.
	Tokens TokenConfig `json:"tokens,omitzero"`
	// Sessions sets the portal session's lifetimes.
	Sessions SessionConfig `json:"sessions,omitzero"`
	// Lockout limits failed login attempts.
	Lockout LockoutConfig `json:"lockout,omitzero"`
	// Branding customises the hosted pages.
	Branding BrandingConfig `json:"branding,omitzero"`
	// Keys sets signing-key rotation.
	Keys KeysConfig `json:"keys,omitzero"`
	// Passkeys sets the WebAuthn relying party.
	Passkeys PasskeysConfig `json:"passkeys,omitzero"`
	// Social lists the upstream identity providers (social login).
	Social []SocialConfig `json:"social,omitempty"`
	// SocialLimits limits the social logins a client IP may leave unfinished.
	SocialLimits SocialLimitsConfig `json:"social_limits,omitzero"`
	// Email and SMS deliver login codes, magic links and verification messages.
	Email EmailConfig `json:"email,omitzero"`
	SMS   SMSConfig   `json:"sms,omitzero"`

	provider  *idp.Provider
	messenger *messenger
	names     *protect.Names // header names every gatehouse handler strips
	storage   Storage
	store     store.Store
	portal    *portalState
	logger    *zap.Logger
	slog      *slog.Logger
	cancel    context.CancelFunc
	done      chan struct{}
	ctx       caddy.Context

	rotateEvery time.Duration
}

// portalState is shared by every handler of the app.
type portalState struct {
	sessions  *session.Manager
	csrf      *web.CSRF
	templates *ui.Templates
	brand     ui.Brand
	base      string // issuer path
	secure    bool   // issuer is https
	keys      *keys.Ring
}

// Storage is implemented by gatehouse.storage.* modules.
type Storage interface {
	// Open returns the store; the module keeps ownership and releases it in its Cleanup.
	Open(ctx caddy.Context) (store.Store, error)
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse", New: func() caddy.Module { return new(App) }}
}

// Provider returns the running identity provider.
func (a *App) Provider() *idp.Provider { return a.provider }

// Provision opens the store, loads or creates the signing keys and builds the provider.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.slog = ctx.Slogger()
	a.names = protect.NewNames()
	repl := caddy.NewReplacer()
	a.Issuer = strings.TrimSpace(repl.ReplaceKnown(a.Issuer, ""))
	if err := a.validateConfig(); err != nil {
		return err
	}
	if a.StorageRaw == nil {
		a.StorageRaw = json.RawMessage(`{"module":"badger"}`)
	}
	mod, err := ctx.LoadModule(a, "StorageRaw")
	if err != nil {
		return fmt.Errorf("loading gatehouse storage: %w", err)
	}
	a.storage = mod.(Storage)
	if a.store, err = a.storage.Open(ctx); err != nil {
		return fmt.Errorf("gatehouse storage: %w", err)
	}
	now := time.Now
	algs := keys.Algorithms
	ring, err := keys.Load(ctx, a.store, algs, now)
	if err != nil {
		return fmt.Errorf("gatehouse signing keys: %w", err)
	}
	var clients []*idp.Client
	for _, c := range a.Clients {
		sec, err := resolveSecret(repl, c.Secret)
		if err != nil {
			return fmt.Errorf("gatehouse clients: client %q: secret %w", c.ID, err)
		}
		cl, err := idp.NewClient(c.IDP(sec))
		if err != nil {
			return fmt.Errorf("gatehouse clients: %w", err)
		}
		clients = append(clients, cl)
	}
	cfg := idp.Config{
		Issuer: a.Issuer, TenantID: a.TenantID, SignupMode: a.Signup, SignupRevealsExisting: a.SignupRevealsExisting,
		AccessTokenAlg: a.Tokens.AccessTokenAlg, IDTokenAlg: a.Tokens.IDTokenAlg,
		AccessTokenLifetime:  time.Duration(a.Tokens.AccessTokenLifetime),
		IDTokenLifetime:      time.Duration(a.Tokens.IDTokenLifetime),
		CodeLifetime:         time.Duration(a.Tokens.CodeLifetime),
		RefreshTokenIdle:     time.Duration(a.Tokens.RefreshTokenIdle),
		RefreshTokenLifetime: time.Duration(a.Tokens.RefreshTokenLifetime),
		SessionIdle:          time.Duration(a.Sessions.Idle),
		SessionLifetime:      time.Duration(a.Sessions.Lifetime),
		AccountMaxFailures:   a.Lockout.AccountMaxFailures,
		IPMaxFailures:        a.Lockout.IPMaxFailures,
		LockoutWindow:        time.Duration(a.Lockout.Window),
		Leeway:               time.Duration(a.Tokens.Leeway),
		Passkeys: idp.PasskeyConfig{RPID: a.Passkeys.RPID, RPName: a.Passkeys.RPName, Origins: a.Passkeys.Origins,
			Disabled: len(a.Login) > 0 && !hasString(a.Login, "passkey")},
	}
	if cfg.Passkeys.RPName == "" {
		cfg.Passkeys.RPName = a.Branding.ProductName
	}
	if err := a.provisionMessenger(ctx, &cfg); err != nil {
		return err
	}
	for _, sc := range a.Social {
		sp, err := sc.IDP(repl, a.Signup == idp.SignupOpen)
		if err != nil {
			return fmt.Errorf("gatehouse social %q: %w", sc.Name, err)
		}
		cfg.SocialProviders = append(cfg.SocialProviders, sp)
	}
	cfg.SocialLimits = a.SocialLimits.IDP()
	if cfg.TenantID == "" {
		cfg.TenantID = secret.Hash(a.Issuer)[:20]
	}
	cfg.Defaults()
	// A replaced key stays published as long as any token it signed can be valid.
	ring.Retain = max(cfg.IDTokenLifetime, cfg.AccessTokenLifetime) + 2*cfg.Leeway
	for _, c := range clients {
		ring.Retain = max(ring.Retain, c.IDTokenLifetime+2*cfg.Leeway, c.AccessTokenLifetime+2*cfg.Leeway)
	}
	a.rotateEvery = time.Duration(a.Keys.RotateEvery)
	if a.rotateEvery == 0 {
		a.rotateEvery = 90 * 24 * time.Hour
	}
	// Revocations live as long as the longest access token; if the list cannot be synced for
	// a minute the protect handlers fail closed.
	rl := tokens.NewRevocationList(now, time.Minute)
	if err := rl.Sync(ctx, a.store); err != nil {
		return fmt.Errorf("gatehouse revocation list: %w", err)
	}
	hasher := password.New(password.OWASP, 0)
	a.provider, err = idp.New(cfg, a.store, ring, hasher, rl, clients, now, a.slog)
	if err != nil {
		return fmt.Errorf("gatehouse: %w", err)
	}
	iss, _ := url.Parse(a.Issuer)
	secure := iss.Scheme == "https"
	tmpl, err := ui.Load()
	if err != nil {
		return fmt.Errorf("gatehouse templates: %w", err)
	}
	a.portal = &portalState{
		sessions: session.New(web.CookieName("session", secure), ring.DeriveKey("session-cookie-hmac"),
			ring.DeriveKey("session-cookie-aes"), secure, cfg.SessionLifetime),
		csrf: &web.CSRF{Key: ring.DeriveKey("csrf"), CookieName: web.CookieName("csrf", secure), Secure: secure,
			NewSecret: func() string { return secret.New(32) }},
		templates: tmpl,
		brand:     ui.Brand{ProductName: a.Branding.ProductName},
		base:      strings.TrimSuffix(iss.Path, "/"),
		secure:    secure,
		keys:      ring,
	}
	return nil
}

// validateConfig checks the options that Provision needs before it opens anything.
func (a *App) validateConfig() error {
	var errs []error
	if a.Issuer == "" {
		errs = append(errs, errors.New("gatehouse: issuer is required (for example: issuer https://login.example.com)"))
	} else if err := ValidateIssuer(a.Issuer); err != nil {
		errs = append(errs, fmt.Errorf("gatehouse: issuer %q: %w", a.Issuer, err))
	}
	switch a.Signup {
	case "", idp.SignupOpen, idp.SignupClosed, idp.SignupInvite:
	default:
		errs = append(errs, fmt.Errorf("gatehouse: signup %q: use open, closed or invite", a.Signup))
	}
	for _, m := range a.Login {
		if !hasString(loginMethods, m) {
			errs = append(errs, fmt.Errorf("gatehouse: login method %q is not available (available: %s)", m, strings.Join(loginMethods, ", ")))
		}
	}
	if len(a.Login) > 0 && !hasString(a.Login, "password") {
		errs = append(errs, errors.New("gatehouse: login must include password (passkey-only servers are not available yet)"))
	}
	if !devIssuer(a.Issuer) {
		for _, m := range a.Login {
			switch {
			case (m == idp.MethodEmailCode || m == idp.MethodMagicLink) && a.Email.SenderRaw == nil:
				errs = append(errs, fmt.Errorf("gatehouse: login method %s sends email: configure a sender (email { smtp <host:port> { ... } })", m))
			case m == idp.MethodSMSCode && a.SMS.SenderRaw == nil:
				errs = append(errs, fmt.Errorf("gatehouse: login method %s sends text messages: configure a sender (sms { twilio { ... } } or sms { webhook <url> { ... } })", m))
			}
		}
	}
	for _, pre := range a.SMS.AllowedPrefixes {
		if !smsPrefixRe.MatchString(pre) {
			errs = append(errs, fmt.Errorf("gatehouse: sms.allowed_prefixes %q: use + and 1 to 6 digits of an E.164 prefix (+1, +44, +4930)", pre))
		}
	}
	// Secrets given as {env.*} and {file.*} placeholders are validated as resolved now, at
	// provisioning: a variable that is unset or a file that is missing is reported here
	// instead of making a confidential client public or a provider fail at first use.
	repl := caddy.NewReplacer()
	seenSocial := map[string]bool{}
	for i, sc := range a.Social {
		if seenSocial[sc.Name] {
			errs = append(errs, fmt.Errorf("gatehouse: social[%d]: provider %q is defined twice", i, sc.Name))
		}
		seenSocial[sc.Name] = true
		if _, err := sc.IDP(repl, false); err != nil {
			errs = append(errs, fmt.Errorf("gatehouse: social[%d] %q: %w", i, sc.Name, err))
		}
	}
	errs = append(errs, a.SocialLimits.Validate()...)
	if err := a.Branding.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := validatePasskeys(a.Issuer, a.Passkeys); err != nil {
		errs = append(errs, err)
	}
	for name, alg := range map[string]string{"access_token_alg": a.Tokens.AccessTokenAlg, "id_token_alg": a.Tokens.IDTokenAlg} {
		if alg != "" && !keys.ValidAlg(alg) {
			errs = append(errs, fmt.Errorf("gatehouse: tokens.%s %q: use RS256, ES256 or EdDSA", name, alg))
		}
	}
	for name, d := range map[string]caddy.Duration{
		"tokens.access_token_lifetime": a.Tokens.AccessTokenLifetime, "tokens.id_token_lifetime": a.Tokens.IDTokenLifetime,
		"tokens.refresh_token_lifetime": a.Tokens.RefreshTokenLifetime, "tokens.refresh_token_idle": a.Tokens.RefreshTokenIdle,
		"tokens.code_lifetime": a.Tokens.CodeLifetime, "sessions.idle": a.Sessions.Idle, "sessions.lifetime": a.Sessions.Lifetime,
		"lockout.window": a.Lockout.Window, "tokens.leeway": a.Tokens.Leeway, "keys.rotate_every": a.Keys.RotateEvery,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("gatehouse: %s must be positive", name))
		}
	}
	if d := time.Duration(a.Tokens.CodeLifetime); d > 10*time.Minute {
		errs = append(errs, errors.New("gatehouse: tokens.code_lifetime must be at most 10m (RFC 6749 §4.1.2)"))
	}
	if d := time.Duration(a.Tokens.AccessTokenLifetime); d > 24*time.Hour {
		errs = append(errs, errors.New("gatehouse: tokens.access_token_lifetime must be at most 24h"))
	}
	if d := time.Duration(a.Tokens.Leeway); d > 5*time.Minute {
		errs = append(errs, errors.New("gatehouse: tokens.leeway must be at most 5m"))
	}
	if a.Lockout.AccountMaxFailures < 0 || a.Lockout.IPMaxFailures < 0 {
		errs = append(errs, errors.New("gatehouse: lockout limits must be positive"))
	}
	seen := map[string]bool{}
	for i, c := range a.Clients {
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("gatehouse: clients[%d]: client %q is defined twice", i, c.ID))
		}
		seen[c.ID] = true
		sec, err := resolveSecret(repl, c.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("gatehouse: clients[%d] %q: secret %w", i, c.ID, err))
			continue
		}
		if _, err := idp.NewClient(c.IDP(sec)); err != nil {
			errs = append(errs, fmt.Errorf("gatehouse: clients[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// resolveSecret replaces the {env.*} and {file.*} placeholders of a secret option. A value
// that resolves to nothing is an error naming the placeholder (never the secret): a client
// whose secret variable is unset would otherwise silently become a public client.
func resolveSecret(repl *caddy.Replacer, raw string) (string, error) {
	v := repl.ReplaceKnown(raw, "")
	if raw != "" && strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s is empty: set the environment variable or create the file it names", raw)
	}
	return v, nil
}

// ValidateIssuer checks an issuer URL (OIDC Discovery §3: https, no query or fragment).
// Plain http is accepted for loopback hosts only (development).
func ValidateIssuer(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("must be an absolute URL such as https://login.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") || strings.Contains(raw, "?") {
		return errors.New("must not have a query or fragment")
	}
	if u.User != nil {
		return errors.New("must not contain user information")
	}
	if strings.HasSuffix(raw, "/") {
		return errors.New("must not end with a slash")
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return errors.New("must use https (plain http is only allowed on localhost)")
		}
	default:
		return errors.New("must be an https URL")
	}
	return nil
}

// Start runs the background work: the revocation list sync (every second) and the store's
// garbage collection.
func (a *App) Start() error {
	// Every app is provisioned by now: refuse a configuration whose routes decide on a path
	// before a Gatehouse handler checked it.
	if httpApp, err := a.ctx.AppIfConfigured("http"); err == nil {
		if h, ok := httpApp.(*caddyhttp.App); ok {
			if err := checkPathOrder(h); err != nil {
				return fmt.Errorf("gatehouse: %w", err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	go func() {
		defer close(a.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		failing := false
		tick := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			tick++
			if tick%60 == 0 {
				a.maintainKeys(ctx, tick%3600 == 0 || tick == 60)
			}
			if err := a.provider.Revocations.Sync(ctx, a.store); err != nil {
				if !failing && ctx.Err() == nil {
					a.logger.Error("revocation list sync failing; protected routes fail closed after a minute", zap.Error(err))
				}
				failing = true
			} else if failing {
				a.logger.Info("revocation list sync recovered")
				failing = false
			}
		}
	}()
	return nil
}

// maintainKeys picks up keys other instances created and, when rotate is set, replaces keys
// older than rotate_every and deletes the ones no token can need any more.
func (a *App) maintainKeys(ctx context.Context, rotate bool) {
	ring := a.provider.Keys
	if err := ring.Reload(ctx); err != nil {
		a.logger.Error("reload signing keys", zap.Error(err))
		return
	}
	if !rotate {
		return
	}
	now := time.Now()
	for _, alg := range ring.Algs() {
		k, err := ring.Signer(alg)
		if err != nil || now.Sub(k.CreatedAt) < a.rotateEvery {
			continue
		}
		// Another instance may have rotated already: only rotate if no newer key is waiting.
		newest := k
		for _, info := range ring.Keys() {
			if info.Alg == alg && info.CreatedAt.After(newest.CreatedAt) {
				newest = nil
				break
			}
		}
		if newest == nil {
			continue
		}
		if nk, err := ring.Rotate(ctx, alg, false); err != nil {
			a.logger.Error("rotate signing key", zap.String("alg", alg), zap.Error(err))
		} else {
			a.logger.Info("signing key rotated", zap.String("alg", alg), zap.String("new_kid", nk.ID), zap.String("old_kid", k.ID))
		}
	}
	if err := ring.Collect(ctx); err != nil {
		a.logger.Error("delete retired signing keys", zap.Error(err))
	}
}

// Stop ends the background work.
func (a *App) Stop() error {
	if a.cancel != nil {
		a.cancel()
		<-a.done
	}
	return nil
}

func hasString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
)

// validatePasskeys checks the WebAuthn relying party against the issuer: the RP ID must be
// the issuer's host or a parent domain of it, and every origin must sit under the RP ID.
func validatePasskeys(issuer string, c PasskeysConfig) error {
	iu, err := url.Parse(issuer)
	if err != nil || issuer == "" {
		return nil // reported with the issuer
	}
	rpID := strings.ToLower(c.RPID)
	if c.RPID != "" {
		if net.ParseIP(c.RPID) != nil || strings.ContainsAny(c.RPID, ":/?#@ ") || strings.Trim(c.RPID, ".") != c.RPID {
			return fmt.Errorf("gatehouse: passkeys rp_id %q must be a bare domain name such as example.com (no scheme, port or path)", c.RPID)
		}
		if h := strings.ToLower(iu.Hostname()); h != rpID && !strings.HasSuffix(h, "."+rpID) {
			return fmt.Errorf("gatehouse: passkeys rp_id %q must be the issuer's host %q or a parent domain of it", c.RPID, iu.Hostname())
		}
	} else {
		rpID = strings.ToLower(iu.Hostname())
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("gatehouse: passkeys origin %q must be an origin such as https://login.example.com (no path)", o)
		}
		h := strings.ToLower(u.Hostname())
		if u.Scheme != "https" && !(u.Scheme == "http" && h == "localhost") {
			return fmt.Errorf("gatehouse: passkeys origin %q must use https (browsers allow http only on localhost)", o)
		}
		if h != rpID && !strings.HasSuffix(h, "."+rpID) {
			return fmt.Errorf("gatehouse: passkeys origin %q is not under the rp_id %q, so browsers would refuse it", o, rpID)
		}
	}
	return nil
}

var smsPrefixRe = regexp.MustCompile(`^\+[1-9][0-9]{0,5}$`)

// provisionMessenger loads the senders and templates of the email and SMS methods and fills
// the provider configuration's messaging fields.
func (a *App) provisionMessenger(ctx caddy.Context, cfg *idp.Config) error {
	for _, m := range a.Login {
		if m == idp.MethodEmailCode || m == idp.MethodMagicLink || m == idp.MethodSMSCode {
			cfg.Methods = append(cfg.Methods, m)
		}
	}
	cfg.SMSAllowedPrefixes = a.SMS.AllowedPrefixes
	email, sms, err := a.loadSenders(ctx)
	if err != nil || (email == nil && sms == nil) {
		return err
	}
	tmpl, err := notify.LoadTemplates(caddy.NewReplacer().ReplaceKnown(a.Branding.Templates, ""))
	if err != nil {
		return fmt.Errorf("gatehouse message templates: %w", err)
	}
	name := a.Branding.ProductName
	if name == "" {
		name = "Gatehouse"
	}
	a.messenger = &messenger{templates: tmpl, queue: notify.NewQueue(email, sms, a.slog, notify.QueueOptions{}),
		brand: notify.MessageData{ProductName: name, LogoURL: a.Branding.LogoURL, Color: a.Branding.Color,
			Domain: issuerHost(a.Issuer)}}
	cfg.Messenger, cfg.EmailEnabled, cfg.SMSEnabled = a.messenger, email != nil, sms != nil
	return nil
}

// Cleanup drains the message queue (a reload or shutdown does not drop codes already
// requested, within five seconds).
func (a *App) Cleanup() error {
	if a.messenger != nil {
		a.messenger.close()
	}
	return nil
}

// issuerHost is the issuer's host name without port (the WebOTP line of SMS codes).
func issuerHost(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
