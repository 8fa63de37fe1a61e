package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/store"
)

// DefaultPoll is how often a View reloads the settings when no notification came.
const DefaultPoll = 3 * time.Second

// Snapshot is the settings in force at one moment. It is immutable: read it, never change
// it (its maps and slices are shared by every reader).
type Snapshot struct {
	// Effective is the merged result.
	Effective Effective
	// Version is the general document's version (0: nothing stored); UpdatedAt and
	// UpdatedBy its last write.
	Version   int64
	UpdatedAt time.Time
	UpdatedBy string
	// Templates are the message templates with the stored ones laid over the Caddyfile's
	// (nil: none stored, the messenger's own apply).
	Templates *notify.Templates
	// Providers are the stored social providers by name, with their client secrets opened
	// (for building the upstream clients; never hand them out); providerVersions their
	// versions.
	Providers        map[string]Provider
	providerVersions map[string]int64
	// Roles are the stored roles (and the Caddyfile's) by name.
	Roles        map[string]Role
	roleVersions map[string]int64
	// stored is the stored general document by field path.
	stored map[string]json.RawMessage
}

// ProviderNames lists the stored providers' names, sorted.
func (s *Snapshot) ProviderNames() []string { return slices.Sorted(maps.Keys(s.Providers)) }

// ExpandUser adds the permissions and role values of the user's roles (see ExpandUser).
func (s *Snapshot) ExpandUser(u store.User) store.User { return ExpandUser(u, s.Roles) }

// View holds the current Snapshot. Its methods are safe for concurrent use.
type View struct {
	base   Base
	store  store.Settings
	sealer *Sealer
	logger *slog.Logger

	cur     atomic.Pointer[Snapshot]
	mu      sync.Mutex // serialises loads, so that an older listing never replaces a newer one
	wake    chan struct{}
	subsMu  sync.Mutex
	subs    []func(*Snapshot)
	loadErr atomic.Bool
}

// NewView returns a View over st whose snapshot is base alone until the first Refresh.
// sealer opens the stored provider secrets (nil: stored providers are left out).
func NewView(base Base, st store.Settings, sealer *Sealer, logger *slog.Logger) *View {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	base.Values = base.Values.Clone()
	v := &View{base: base, store: st, sealer: sealer, logger: logger, wake: make(chan struct{}, 1)}
	v.cur.Store(v.build(nil))
	return v
}

// Base returns what the Caddyfile says.
func (v *View) Base() Base { return v.base }

// Load returns the current snapshot (never nil). It does not read the store.
func (v *View) Load() *Snapshot { return v.cur.Load() }

// Subscribe calls fn with every new snapshot, right after it is in force (and once now).
// fn runs on the refreshing goroutine and should be quick.
func (v *View) Subscribe(fn func(*Snapshot)) {
	v.subsMu.Lock()
	v.subs = append(v.subs, fn)
	v.subsMu.Unlock()
	fn(v.Load())
}

// Refresh reads every stored setting and puts the result in force.
func (v *View) Refresh(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var all []store.Setting
	after := ""
	for {
		page, err := v.store.ListSettings(ctx, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return fmt.Errorf("settings: load: %w", err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Key
	}
	snap := v.build(all)
	v.cur.Store(snap)
	v.subsMu.Lock()
	subs := slices.Clone(v.subs)
	v.subsMu.Unlock()
	for _, fn := range subs {
		fn(snap)
	}
	return nil
}

// Changed tells the View that the store reported topic (store.Notifier): on
// store.TopicSettings or store.TopicAll, Run reloads at once. It never blocks.
func (v *View) Changed(topic string) {
	if topic != store.TopicSettings && topic != store.TopicAll {
		return
	}
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// Run keeps the snapshot current until ctx ends: it reloads on Changed and every poll
// (DefaultPoll if 0). With a notifier it also listens to it itself.
func (v *View) Run(ctx context.Context, poll time.Duration, notifier store.Notifier) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if notifier != nil {
		go func() { _ = notifier.Listen(ctx, v.Changed) }()
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-v.wake:
		}
		err := v.Refresh(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !v.loadErr.Swap(true):
			v.logger.Error("runtime settings cannot be loaded; the last ones stay in force", "error", err)
		case err == nil && v.loadErr.Swap(false):
			v.logger.Info("runtime settings load again")
		}
	}
}

// build makes a snapshot of base and the stored records. A stored value that is no longer
// valid (written by another version, or made invalid by a Caddyfile change) is left out
// and logged, never fatal.
func (v *View) build(all []store.Setting) *Snapshot {
	s := &Snapshot{Providers: map[string]Provider{}, providerVersions: map[string]int64{},
		Roles: map[string]Role{}, roleVersions: map[string]int64{}, stored: map[string]json.RawMessage{}}
	for _, r := range v.base.Roles {
		s.Roles[r.Name] = r
	}
	for _, rec := range all {
		switch {
		case rec.Key == KeyGeneral:
			if err := json.Unmarshal(rec.Value, &s.stored); err != nil {
				v.logger.Error("stored settings do not decode; ignored", "key", rec.Key, "error", err)
				s.stored = map[string]json.RawMessage{}
			}
			s.Version, s.UpdatedAt, s.UpdatedBy = rec.Version, rec.UpdatedAt, rec.UpdatedBy
		case strings.HasPrefix(rec.Key, PrefixProvider):
			var sp storedProvider
			if err := json.Unmarshal(rec.Value, &sp); err != nil {
				v.logger.Error("stored provider does not decode; ignored", "key", rec.Key, "error", err)
				continue
			}
			if slices.Contains(v.base.Providers, sp.Name) {
				v.logger.Warn("stored provider has the name of a Caddyfile one; the Caddyfile's is used", "provider", sp.Name)
				continue
			}
			s.providerVersions[sp.Name] = rec.Version
			p := sp.Provider
			p.ClientSecret = ""
			if v.sealer != nil && sp.SealedSecret != "" {
				sec, err := v.sealer.Open(sp.Name, sp.SealedSecret)
				if err != nil {
					v.logger.Error("stored provider's client secret does not open; provider left out", "provider", sp.Name, "error", err)
					continue
				}
				p.ClientSecret = sec
			}
			p.ClientSecretSet = sp.SealedSecret != ""
			s.Providers[sp.Name] = p
		case strings.HasPrefix(rec.Key, PrefixRole):
			var r Role
			if err := json.Unmarshal(rec.Value, &r); err != nil {
				v.logger.Error("stored role does not decode; ignored", "key", rec.Key, "error", err)
				continue
			}
			if _, dup := s.Roles[r.Name]; dup {
				v.logger.Warn("stored role has the name of a Caddyfile one; the Caddyfile's is used", "role", r.Name)
				continue
			}
			s.Roles[r.Name] = r
			s.roleVersions[r.Name] = rec.Version
		}
	}
	s.Effective = v.lenientMerge(s.stored)
	if len(s.Effective.Templates) > 0 {
		t, ferr := compileTemplates(v.base.TemplatesDir, s.Effective.Templates)
		if ferr != nil {
			v.logger.Error("stored message templates do not work; the Caddyfile's are used", "error", ferr)
		}
		s.Templates = t
	}
	return s
}

// lenientMerge is merge that skips the stored fields that fail (logging them).
func (v *View) lenientMerge(stored map[string]json.RawMessage) Effective {
	e := v.base.Values.Clone()
	for _, f := range slices.Sorted(maps.Keys(stored)) {
		if v.base.locked(f) {
			continue
		}
		next := e.Clone()
		if err := apply(&next, f, stored[f], v.base); err != nil {
			v.logger.Warn("stored setting is not valid here; ignored", "field", f, "error", err.Message)
			continue
		}
		e = next
	}
	if err := check(e, v.base, stored); err != nil {
		v.logger.Warn("stored session lifetimes conflict; the Caddyfile's apply", "error", err.Error())
		e.SessionIdle, e.SessionLifetime = v.base.Values.SessionIdle, v.base.Values.SessionLifetime
	}
	return e
}
