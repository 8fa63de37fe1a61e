package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// revocationKey identifies a revocation-list entry.
type revocationKey struct{ kind, subject string }

// AddRevocation implements store.Revocations.
func (s *Store) AddRevocation(ctx context.Context, r store.Revocation) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: add revocation %s %q: %w", r.Kind, r.Subject, err)
	}
	defer s.mu.Unlock()
	k := revocationKey{r.Kind, r.Subject}
	if old, ok := s.revs[k]; ok {
		if old.At.After(r.At) {
			r.At = old.At
		}
		if old.ExpiresAt.After(r.ExpiresAt) {
			r.ExpiresAt = old.ExpiresAt
		}
	}
	s.revs[k] = r
	return nil
}

// ListRevocations implements store.Revocations. The result is ordered by kind, then subject.
func (s *Store) ListRevocations(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list revocations: %w", err)
	}
	defer s.mu.Unlock()
	out := make([]store.Revocation, 0, len(s.revs))
	for _, r := range s.revs {
		if !r.At.Before(since) && r.ExpiresAt.After(now) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Revocation) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	return out, nil
}
