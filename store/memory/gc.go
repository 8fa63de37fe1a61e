package memory

import (
	"context"
	"fmt"
	"time"
)

// GarbageCollect implements store.GarbageCollector: it removes every record whose expiry
// is before now.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, fmt.Errorf("memory: garbage collect: %w", err)
	}
	defer s.mu.Unlock()
	n := 0
	// passed tells whether expiry exp (zero: none) has passed, and counts it.
	passed := func(exp time.Time) bool {
		if exp.IsZero() || !exp.Before(now) {
			return false
		}
		n++
		return true
	}
	for id, it := range s.sessions {
		if passed(sessionExpiry(it.rec.IdleExpiresAt, it.rec.AbsoluteExpiresAt)) {
			delete(s.sessions, id)
		}
	}
	for id, c := range s.codes {
		if passed(codeExpiry(c.code)) {
			delete(s.codes, id)
		}
	}
	// Tokens first: their expiry depends on their family's.
	for id, t := range s.tokens {
		if passed(tokenExpiry(t.token, s.families[t.token.FamilyID])) {
			delete(s.tokens, id)
		}
	}
	for id, f := range s.families {
		if passed(f.expiresAt) {
			delete(s.families, id)
		}
	}
	for k, r := range s.revs {
		if passed(r.ExpiresAt) {
			delete(s.revs, k)
		}
	}
	for k, c := range s.counters {
		if passed(c.windowEnd) {
			delete(s.counters, k)
		}
	}
	for id, it := range s.oneTime {
		if passed(it.rec.ExpiresAt) {
			delete(s.oneTime, id)
		}
	}
	for id, it := range s.audit {
		if passed(it.rec.ExpiresAt) {
			delete(s.audit, id)
		}
	}
	return n, nil
}

// sessionExpiry is the earlier of a session's non-zero idle and absolute expiries (zero
// if both are zero).
func sessionExpiry(idle, absolute time.Time) time.Time {
	switch {
	case idle.IsZero():
		return absolute
	case absolute.IsZero(), idle.Before(absolute):
		return idle
	}
	return absolute
}
