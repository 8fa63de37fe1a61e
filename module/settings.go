package module

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// Settings returns the runtime-settings service (the Administration API's Go API for login
// preferences, branding, social providers and roles), or nil before Provision.
func (a *App) Settings() *settings.Service { return a.settingsSvc }

// SettingsView returns the runtime settings in force.
func (a *App) SettingsView() *settings.View { return a.settings }

// settingsBase is what this configuration says of the runtime settings: its values (with
// the defaults applied) and which of them it sets, which are then read-only.
func (a *App) settingsBase(cfg idp.Config, passkeys bool) settings.Base {
	set := map[string]bool{}
	v := settings.Defaults()
	if len(a.Login) > 0 {
		set[settings.FieldMethods] = true
		v.LoginMethods = slices.Clone(a.Login)
		if !slices.Contains(v.LoginMethods, settings.MethodSocial) {
			v.LoginMethods = append(v.LoginMethods, settings.MethodSocial)
		}
	}
	if !passkeys && !set[settings.FieldMethods] {
		// The default order names passkeys; without WebAuthn (no domain name) it cannot,
		// or no stored change of the methods would pass the check.
		v.LoginMethods = slices.DeleteFunc(v.LoginMethods, func(m string) bool { return m == settings.MethodPasskey })
	}
	if a.Signup != "" {
		set[settings.FieldSignup], v.Signup = true, a.Signup
	}
	if a.Sessions.Idle != 0 {
		set[settings.FieldSessionIdle] = true
	}
	if a.Sessions.Lifetime != 0 {
		set[settings.FieldSessionLifetime] = true
	}
	v.SessionIdle, v.SessionLifetime = cfg.SessionIdle, cfg.SessionLifetime
	if a.Branding.ProductName != "" {
		set[settings.FieldProductName], v.ProductName = true, a.Branding.ProductName
	}
	if a.Branding.LogoURL != "" {
		set[settings.FieldLogoURL], v.LogoURL = true, a.Branding.LogoURL
	}
	if a.Branding.Color != "" {
		set[settings.FieldColor], v.Color = true, a.Branding.Color
	}
	b := settings.Base{Values: v, Set: set, TemplatesDir: caddy.NewReplacer().ReplaceKnown(a.Branding.Templates, ""),
		EmailAvailable: cfg.EmailEnabled, SMSAvailable: cfg.SMSEnabled, PasskeysAvailable: passkeys,
		MaxSessionLifetime: cfg.SessionLifetime}
	for _, sc := range a.Social {
		b.Providers = append(b.Providers, sc.Name)
	}
	return b
}

// provisionSettings builds the settings view over the store (loaded once now; Start keeps
// it current), the service that writes it, and points the consumers at the view: enabled
// login methods, sign-up mode, second factor per method, session lifetimes, roles in tokens
// (idp.Provider.UseSettings), stored social providers, the pages' brand (portal.go) and the
// messages' brand and templates.
func (a *App) provisionSettings(ctx caddy.Context, cfg idp.Config, ring *keys.Ring) error {
	// Stored values are data, never placeholders: an administrator must not be able to send
	// {env.*} or {file.*} to a provider of their choosing.
	repl := caddy.NewEmptyReplacer()
	p := a.provider
	sealer, err := settings.NewSealer(ring.DeriveKey("settings-secret-v1"))
	if err != nil {
		return fmt.Errorf("gatehouse settings: %w", err)
	}
	view := settings.NewView(a.settingsBase(cfg, p.Passkey.Enabled()), a.store, sealer, a.slog)
	loadCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := view.Refresh(loadCtx); err != nil {
		// The Caddyfile's values apply until the store answers (Start keeps trying).
		a.logger.Warn("runtime settings not loaded; the configuration's apply until they are", zap.Error(err))
	}
	a.settings = view
	p.UseSettings(view)
	social := &storedSocial{repl: repl, logger: a.logger}
	view.Subscribe(social.update)
	p.Social.Stored = social.providers
	if a.messenger != nil {
		a.messenger.settings = view
	}
	svc := settings.NewService(a.store, view, sealer, a.trail)
	svc.Issuer = a.Issuer
	if a.messenger != nil {
		svc.Deliver = a.messenger.queue
	}
	svc.CheckProvider = func(sp settings.Provider) error {
		_, err := socialConfigOf(sp).IDP(repl, false)
		return err
	}
	a.settingsSvc = svc
	return nil
}

// socialConfigOf is the Caddyfile form of a stored provider.
func socialConfigOf(p settings.Provider) SocialConfig {
	return SocialConfig{Name: p.Name, Preset: p.Preset, Label: p.Label, Issuer: p.Issuer, Tenant: p.Tenant,
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, Scopes: p.Scopes, GroupsClaim: p.GroupsClaim,
		ImportGroups: p.ImportGroups, AllowedDomains: p.AllowedDomains, RequiredGroups: p.RequiredGroups,
		Onboarding: p.Onboarding, TrustEmailVerified: p.TrustEmailVerified, AuthURL: p.AuthURL, TokenURL: p.TokenURL, APIURL: p.APIURL}
}

// storedSocial holds the upstream providers built from the stored ones. A provider whose
// settings did not change keeps its *idp.SocialProvider, and so its upstream client and
// discovery (login/social.Method.Stored).
type storedSocial struct {
	repl   *caddy.Replacer
	logger *zap.Logger
	mu     sync.Mutex
	built  map[string]builtProvider
	cur    atomic.Pointer[[]*idp.SocialProvider]
}

type builtProvider struct {
	from       settings.Provider
	signupOpen bool
	sp         *idp.SocialProvider
}

func (s *storedSocial) update(snap *settings.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := snap.Effective.Signup == idp.SignupOpen
	next := map[string]builtProvider{}
	var list []*idp.SocialProvider
	for _, name := range snap.ProviderNames() {
		p := snap.Providers[name]
		if b, ok := s.built[name]; ok && b.signupOpen == open && reflect.DeepEqual(b.from, p) {
			next[name] = b
			list = append(list, b.sp)
			continue
		}
		sp, err := socialConfigOf(p).IDP(s.repl, open)
		if err != nil {
			s.logger.Error("stored social provider left out", zap.String("provider", name), zap.Error(err))
			continue
		}
		next[name] = builtProvider{from: p, signupOpen: open, sp: sp}
		list = append(list, sp)
	}
	s.built = next
	s.cur.Store(&list)
}

func (s *storedSocial) providers() []*idp.SocialProvider {
	if l := s.cur.Load(); l != nil {
		return *l
	}
	return nil
}

// --- admin endpoint: /gatehouse/settings ---

// serveSettings answers GET /gatehouse/settings (the effective settings, which fields the
// configuration sets, the version) and PATCH /gatehouse/settings with
// {"version": N, "settings": {...}} (settings.Service.Update) on Caddy's admin endpoint,
// for `gatehouse settings`.
func serveSettings(w http.ResponseWriter, r *http.Request, svc *settings.Service) error {
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		d, err := svc.Get(r.Context())
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
		}
		return json.NewEncoder(w).Encode(d)
	case http.MethodPatch:
		var in struct {
			Version  int64           `json:"version"`
			Settings json.RawMessage `json:"settings"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("body: %w", err)}
		}
		d, err := svc.Update(r.Context(), in.Settings, in.Version, "cli")
		var fe *settings.FieldError
		switch {
		case errors.As(err, &fe):
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fe}
		case errors.Is(err, settings.ErrVersionMismatch):
			return caddy.APIError{HTTPStatus: http.StatusPreconditionFailed, Err: errors.New("the settings changed meanwhile: read them again")}
		case err != nil:
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
		}
		return json.NewEncoder(w).Encode(d)
	}
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET or PATCH")}
}

// current returns the templates and brand of a message: the runtime settings'
// when set.
func (m *messenger) current() (*notify.Templates, notify.MessageData) {
	t, brand := m.templates, m.brand
	if m.settings == nil {
		return t, brand
	}
	snap := m.settings.Load()
	if snap.Templates != nil {
		t = snap.Templates
	}
	e := snap.Effective
	brand.ProductName, brand.LogoURL, brand.Color = e.ProductName, e.LogoURL, e.Color
	return t, brand
}
