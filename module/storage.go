package module

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
)

func init() {
	caddy.RegisterModule(BadgerStorage{})
}

// stores shares open Badger databases between configurations: a reload provisions the new
// app while the old one still runs, and Badger locks its directory, so both must use the
// same handle. The last Cleanup closes it.
var stores = caddy.NewUsagePool()

// BadgerStorage is the embedded store (gatehouse.storage.badger), the default.
type BadgerStorage struct {
	// Path is the database directory (default: gatehouse/badger under Caddy's data
	// directory). Relative paths are relative to Caddy's working directory.
	Path string `json:"path,omitempty"`

	key string
}

// CaddyModule returns the Caddy module information.
func (BadgerStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.storage.badger", New: func() caddy.Module { return new(BadgerStorage) }}
}

type pooledStore struct {
	*badger.Store
	cancel context.CancelFunc
}

// Destruct stops the GC and closes the database.
func (p *pooledStore) Destruct() error {
	p.cancel()
	return p.Close()
}

// zapBadgerLogger adapts zap to badger's logger.
type zapBadgerLogger struct{ s *zap.SugaredLogger }

func (l zapBadgerLogger) Errorf(f string, a ...any)   { l.s.Errorf(f, a...) }
func (l zapBadgerLogger) Warningf(f string, a ...any) { l.s.Warnf(f, a...) }
func (l zapBadgerLogger) Infof(f string, a ...any)    { l.s.Debugf(f, a...) }
func (l zapBadgerLogger) Debugf(f string, a ...any)   { l.s.Debugf(f, a...) }

// Open opens (or shares) the database at the configured path.
func (b *BadgerStorage) Open(ctx caddy.Context) (store.Store, error) {
	path := b.Path
	if path == "" {
		path = badger.DefaultDir(caddy.AppDataDir())
	}
	path = caddy.NewReplacer().ReplaceKnown(path, "")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("badger path %q: %w", path, err)
	}
	logger := zapBadgerLogger{ctx.Logger().Sugar()}
	val, _, err := stores.LoadOrNew(abs, func() (caddy.Destructor, error) {
		s, err := badger.Open(badger.Options{Path: abs, Logger: logger})
		if err != nil {
			return nil, err
		}
		gcCtx, cancel := context.WithCancel(context.Background())
		go s.RunGC(gcCtx, 10*time.Minute)
		return &pooledStore{Store: s, cancel: cancel}, nil
	})
	if err != nil {
		return nil, err
	}
	b.key = abs
	ctx.Logger().Info("gatehouse store opened", zap.String("path", abs))
	return val.(*pooledStore).Store, nil
}

// Cleanup releases this configuration's use of the database.
func (b *BadgerStorage) Cleanup() error {
	if b.key == "" {
		return nil
	}
	_, err := stores.Delete(b.key)
	return err
}

// Interface guards.
var (
	_ Storage            = (*BadgerStorage)(nil)
	_ caddy.CleanerUpper = (*BadgerStorage)(nil)
)
