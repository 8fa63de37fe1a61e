package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// revocationKey is rv/<len>:<kind>/<subject>.
func revocationKey(kind, subject string) []byte {
	return indexKey(pRevocation, kind, subject)
}

// revocationCache mirrors the rv/ prefix in memory, so that ListRevocations, which every
// instance polls every few seconds, is a filter over a small map instead of a scan and a
// JSON decode per entry. It is coherent because the directory lock makes this Store the
// only writer: AddRevocation updates it after each commit (and drops it when a commit may
// have failed half-way), and it is loaded from the database on first use.
type revocationCache struct {
	mu      sync.Mutex
	loaded  bool
	entries map[string]store.Revocation // by revocation key
}

// AddRevocation implements store.Revocations.
func (s *Store) AddRevocation(ctx context.Context, r store.Revocation) error {
	rk := revocationKey(r.Kind, r.Subject)
	defer s.lockKey(rk)()
	var stored store.Revocation
	err := s.update(ctx, func(txn *badger.Txn) error {
		var old store.Revocation
		err := get(txn, rk, &old)
		switch {
		case err == nil:
			stored = r
			stored.At = latest(old.At, r.At)
			stored.ExpiresAt = latest(old.ExpiresAt, r.ExpiresAt)
			if stored.At.Equal(old.At) && stored.ExpiresAt.Equal(old.ExpiresAt) {
				stored = old
				return nil // nothing to change
			}
			return put(txn, rk, stored, stored.ExpiresAt)
		case errors.Is(err, store.ErrNotFound):
			stored = r
			return put(txn, rk, r, r.ExpiresAt)
		}
		return err
	})
	s.revs.mu.Lock()
	if err != nil {
		s.revs.loaded, s.revs.entries = false, nil
	} else if s.revs.loaded {
		s.revs.entries[string(rk)] = stored
	}
	s.revs.mu.Unlock()
	if err != nil {
		return fmt.Errorf("badger: add revocation %s %q: %w", r.Kind, r.Subject, err)
	}
	return nil
}

// ListRevocations implements store.Revocations, from the in-memory mirror. The result is
// ordered by kind, then subject.
func (s *Store) ListRevocations(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	s.revs.mu.Lock()
	defer s.revs.mu.Unlock()
	if !s.revs.loaded {
		entries, err := s.loadRevocations(ctx)
		if err != nil {
			return nil, fmt.Errorf("badger: list revocations: %w", err)
		}
		s.revs.entries, s.revs.loaded = entries, true
	} else if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("badger: list revocations: %w", err)
	}
	// Forget what badger's TTL has purged from the database (same rule, same clock), so
	// the mirror does not grow without bound.
	wall := uint64(time.Now().Unix())
	out := make([]store.Revocation, 0, len(s.revs.entries))
	for k, r := range s.revs.entries {
		if exp := expiresAt(r.ExpiresAt); exp != 0 && exp <= wall {
			delete(s.revs.entries, k)
			continue
		}
		if r.At.Before(since) || !r.ExpiresAt.After(now) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.Revocation) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	return out, nil
}

// loadRevocations reads every stored revocation.
func (s *Store) loadRevocations(ctx context.Context) (map[string]store.Revocation, error) {
	entries := make(map[string]store.Revocation)
	err := s.view(ctx, func(txn *badger.Txn) error {
		prefix := []byte(pRevocation)
		return scan(txn, prefix, "", func(suffix []byte, item *badger.Item) (bool, error) {
			var r store.Revocation
			if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &r) }); err != nil {
				return false, fmt.Errorf("decode %q: %w", pRevocation+string(suffix), err)
			}
			entries[pRevocation+string(suffix)] = r
			return true, nil
		})
	})
	return entries, err
}
