package idptest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Settings are the runtime settings of a test provider, stored in its store and wired into
// it as module/ wires them (idp.Provider.UseSettings); Set changes them as an administrator
// would, taking effect on the next call without a reload.
type Settings struct {
	T       testing.TB
	Service *settings.Service
	View    *settings.View
	version int64
}

// UseSettings wires runtime settings into p, stored in s; base is what the Caddyfile
// would give (settings.Defaults() for none).
func UseSettings(t testing.TB, p *idp.Provider, s store.Store, base settings.Base) *Settings {
	t.Helper()
	view := settings.NewView(base, s, nil, nil)
	p.UseSettings(view)
	return &Settings{T: t, Service: settings.NewService(s, view, nil, nil), View: view}
}

// UseSettings wires runtime settings into the env's provider (UseSettings).
func (e *Env) UseSettings(base settings.Base) *Settings {
	e.T.Helper()
	return UseSettings(e.T, e.P, e.Store, base)
}

// Set applies patch (a settings document, such as {"login":{"mfa":{"password":"required"}}}).
func (s *Settings) Set(patch string) {
	s.T.Helper()
	d, err := s.Service.Update(context.Background(), json.RawMessage(patch), s.version, "admin")
	if err != nil {
		s.T.Fatalf("settings %s: %v", patch, err)
	}
	s.version = d.Version
}
