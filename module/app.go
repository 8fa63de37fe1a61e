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
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/protect"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/ui"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `gatehouse` app: the identity provider's configuration and state.
type App struct {
	// Issuer is the portal's URL exactly as it appears in tokens (the iss claim): https, or
	// http on a loopback host; no query, fragment or trailing slash. Required.
	Issuer string `json:"issuer,omitempty"`
	// StorageRaw selects the store (default: badger under Caddy's data directory).
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=gatehouse.storage inline_key=module"`
	// TenantID is the tid claim (default: derived from the issuer).
	TenantID string `json:"tenant_id,omitempty"`
	// Locale is the language of the hosted pages and of the email and SMS messages when
	// neither the authorization request's ui_locales nor the browser's Accept-Language names
	// a supported one: en (default), de, fr or es.
	Locale string `json:"locale,omitempty"`
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
	// Registration turns on dynamic client registration (RFC 7591/7592; default off).
	Registration *RegistrationConfig `json:"registration,omitempty"`
	// PAR sets pushed authorization requests (RFC 9126, the /par endpoint).
	PAR PARConfig `json:"par,omitzero"`
	// Approval sets transaction approval (approval_data in a pushed request).
	Approval ApprovalConfig `json:"approval,omitzero"`
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
	// Account sets what users may change of their own account (profile fields, deletion).
	Account AccountConfig `json:"account,omitzero"`
	// Audit sets the audit trail (retention of the stored events).
	Audit *AuditConfig `json:"audit,omitempty"`
	// DisableMetrics turns off the Prometheus metrics (see README, Metrics and health): no
	// collectors are registered and the store is not timed.
	DisableMetrics bool `json:"disable_metrics,omitempty"`
	// AdminGroup is the group whose members may use the Administration API (and console)
	// with their portal session (default "admins").
	AdminGroup string `json:"admin_group,omitempty"`
	// AdminMaxAge is how old an administrator's multi-factor login may be for a write
	// through the Administration API with a session (default 15m).
	AdminMaxAge caddy.Duration `json:"admin_max_age,omitempty"`

	provider  *idp.Provider
	trail     *audit.Trail
	messenger *messenger
	// settings is the runtime-settings view and settingsSvc its writer (settings.go).
	settings    *settings.View
	settingsSvc *settings.Service
	names       *protect.Names     // header names every gatehouse handler strips
	refreshes   *protect.Refreshes // session-cookie refreshes shared by the gatehouse_protect handlers
	storage     Storage
	store       store.Store
	metrics     *appMetrics // nil: metrics disabled
	portal      *portalState
	logger      *zap.Logger
	// emailWhere and smsWhere say where messages go, for the start-up log line.
	emailWhere, smsWhere string
	slog                 *slog.Logger
	cancel               context.CancelFunc
	done                 chan struct{}
	ctx                  caddy.Context

	rotateEvery time.Duration
}

// portalState is shared by every handler of the app.
type portalState struct {
	sessions  *session.Manager
	csrf      *web.CSRF
	templates *ui.Templates
	brand     ui.Brand
	base      string // issuer path
	locale    string // default page language (i18n)
	secure    bool   // issuer is https
	keys      *keys.Ring
	// assertKeys sign the identity assertions of gatehouse_protect (protect_assertion.go).
	assertKeys *keys.Ring
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
	a.refreshes = protect.NewRefreshes(0)
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
	if !a.DisableMetrics {
		a.metrics, err = newAppMetrics(ctx.GetMetricsRegistry(), func() int {
			if a.messenger == nil || a.messenger.queue == nil {
				return 0
			}
			return a.messenger.queue.Len()
		})
		if err != nil {
			return fmt.Errorf("gatehouse metrics: %w", err)
		}
		a.store = a.metrics.timeStore(a.store)
	}
	now := time.Now
	algs := keys.Algorithms
	ring, err := keys.Load(ctx, a.store, algs, now)
	if err != nil {
		return fmt.Errorf("gatehouse signing keys: %w", err)
	}
	assertRing, err := keys.LoadAssertion(ctx, a.store, now)
	if err != nil {
		return fmt.Errorf("gatehouse assertion keys: %w", err)
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
	var initialToken string
	if a.Registration != nil {
		if initialToken, err = resolveSecret(repl, a.Registration.InitialAccessToken); err != nil {
			return fmt.Errorf("gatehouse registration: initial_access_token %w", err)
		}
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
	cfg.Registration = a.Registration.IDP(initialToken)
	cfg.PushedRequestLifetime, cfg.RequirePushedRequests = time.Duration(a.PAR.Lifetime), a.PAR.Required
	cfg.ApprovalOTP = a.Approval.allowsOTP()
	if a.metrics != nil {
		cfg.Metrics = a.metrics
	}
	a.trail = a.newTrail(a.logger, a.metrics)
	cfg.Audit = a.trail
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
	// Several instances may share a PostgreSQL store: attempt limits must hold across them.
	_, cfg.SharedStore = a.storage.(*PostgresStorage)
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
		templates:  tmpl,
		brand:      ui.Brand{ProductName: a.Branding.ProductName},
		base:       strings.TrimSuffix(iss.Path, "/"),
		locale:     a.Locale,
		secure:     secure,
		keys:       ring,
		assertKeys: assertRing,
	}
	if err := a.provisionSettings(ctx, cfg, ring); err != nil {
		return err
	}
	return nil
}

// validateConfig checks the options that Provision needs before it opens anything.
func (a *App) validateConfig() error {
	// The whole configuration, in one place (validate.go): every error at once, in a
	// stable order, and the warnings logged.
	v := NewValidator()
	a.Check(v, "gatehouse")
	for _, w := range v.Warnings() {
		a.logger.Warn(w.Message, zap.String("option", w.Path))
	}
	switch n := len(v.Errors()); n {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("1 configuration error:\n%w", v.Err())
	default:
		return fmt.Errorf("%d configuration errors:\n%w", n, v.Err())
	}
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

// Start runs the background work (background.go): the revocation list and signing keys kept
// in step with the store, at once on a change notification and by polling besides.
func (a *App) Start() error {
	// Every app is provisioned by now: refuse a configuration whose routes decide on a path
	// before a Gatehouse handler checked it.
	var httpApp *caddyhttp.App
	if app, err := a.ctx.AppIfConfigured("http"); err == nil {
		if h, ok := app.(*caddyhttp.App); ok {
			if err := checkPathOrder(h); err != nil {
				return fmt.Errorf("gatehouse: %w", err)
			}
			httpApp = h
		}
	}
	a.logStart(httpApp)
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	bg := &background{store: a.store, revocations: a.provider.Revocations, keys: a.provider.Keys,
		assertKeys: a.portal.assertKeys, settings: a.settings, rotateEvery: a.rotateEvery, poll: time.Second, logger: a.logger}
	go func() {
		defer close(a.done)
		bg.run(ctx)
	}()
	return nil
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
	a.emailWhere, a.smsWhere = describeEmailSender(email), describeSMSSender(sms)
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
	a.messenger = &messenger{templates: tmpl, locale: a.Locale, queue: notify.NewQueue(email, sms, a.slog, notify.QueueOptions{}),
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
