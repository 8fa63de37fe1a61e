// Package storecli implements the data-moving commands of `gatehouse store`: copy (every
// record of one store into another, e.g. Badger to PostgreSQL), export and import (users
// as JSON lines, docs/users-file.md). It works on store.Store and store.Dumper only; the
// Caddy module (module/command_storage.go) wires it to the command line.
package storecli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
)

// Spec names a store on the command line: badger:<dir> or postgres:<dsn> (postgres: alone
// takes the DSN from $DATABASE_URL), with the PostgreSQL schema given apart (Schema).
type Spec struct {
	Kind   string // "badger" or "postgres"
	Target string // the directory, or the DSN
	Schema string // PostgreSQL schema ("" : the DSN's search_path)
}

// ParseSpec parses badger:<dir> or postgres:<dsn>.
func ParseSpec(s, schema string) (Spec, error) {
	kind, target, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return Spec{}, fmt.Errorf("store %q: write badger:<dir> or postgres:<dsn>", s)
	case kind == "badger":
		if target == "" {
			return Spec{}, errors.New("store badger: give the database directory (badger:/var/lib/caddy/gatehouse/badger)")
		}
		abs, err := filepath.Abs(target)
		if err != nil {
			return Spec{}, err
		}
		return Spec{Kind: kind, Target: abs}, nil
	case kind == "postgres" || kind == "postgresql":
		if target == "" {
			target = os.Getenv("DATABASE_URL")
		}
		if target == "" {
			return Spec{}, errors.New("store postgres: give postgres:<dsn> or set DATABASE_URL")
		}
		// postgres:postgres://... and postgres:host=... both work; postgres://... as a whole
		// was split at its first colon.
		if strings.HasPrefix(target, "//") {
			target = kind + ":" + target
		}
		return Spec{Kind: "postgres", Target: target, Schema: schema}, nil
	}
	return Spec{}, fmt.Errorf("store %q: unknown kind %q (badger or postgres)", s, kind)
}

// String names the store without secrets (a DSN's password is left out).
func (s Spec) String() string {
	if s.Kind == "postgres" {
		name := "postgres " + postgres.Target(s.Target)
		if s.Schema != "" {
			name += " schema " + s.Schema
		}
		return name
	}
	return s.Kind + " " + s.Target
}

// Opened is a store opened from a Spec.
type Opened interface {
	store.Store
	store.Dumper
}

// Open opens the store. A source (readOnly) is never written: Badger is opened read-only
// (and must exist), PostgreSQL without applying migrations (a schema that lacks some is
// refused). A destination is created if needed (Badger directory, PostgreSQL schema and
// tables).
func Open(ctx context.Context, s Spec, readOnly bool) (Opened, error) {
	switch s.Kind {
	case "badger":
		st, err := badger.Open(badger.Options{Path: s.Target, ReadOnly: readOnly})
		if errors.Is(err, badger.ErrLocked) {
			return nil, fmt.Errorf("%w\nBadger lets one process at a time use its directory: stop the Gatehouse server (Caddy) using %s first", err, s.Target)
		}
		return st, err
	case "postgres":
		return postgres.Open(ctx, postgres.Options{DSN: s.Target, Schema: s.Schema, SkipMigrations: readOnly})
	}
	return nil, fmt.Errorf("unknown store kind %q", s.Kind)
}
