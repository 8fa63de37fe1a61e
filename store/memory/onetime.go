package memory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateOneTimeCode implements store.OneTimeCodes.
func (s *Store) CreateOneTimeCode(ctx context.Context, c store.OneTimeCode) error {
	_, _, err := s.createOneTimeCode(ctx, time.Time{}, c, nil, nil)
	return err
}

// CreateLatestOneTimeCode implements store.OneTimeCodes.
func (s *Store) CreateLatestOneTimeCode(ctx context.Context, now time.Time, c, latest store.OneTimeCode, count ...store.CounterIncrement) ([]store.CounterValue, bool, error) {
	if latest.ID == "" || c.ID == latest.ID {
		return nil, false, errors.New("memory: create one-time code: empty or equal ids")
	}
	if err := store.CheckCounterKeys(count); err != nil {
		return nil, false, fmt.Errorf("memory: create one-time code %q: %w", c.ID, err)
	}
	return s.createOneTimeCode(ctx, now, c, &latest, count)
}

// createOneTimeCode stores the new code c and, under the same lock, latest if not nil and
// the counters of count (only those if one goes over its limit).
func (s *Store) createOneTimeCode(ctx context.Context, now time.Time, c store.OneTimeCode, latest *store.OneTimeCode, count []store.CounterIncrement) ([]store.CounterValue, bool, error) {
	if c.ID == "" {
		return nil, false, errors.New("memory: create one-time code: empty id")
	}
	if err := s.lock(ctx); err != nil {
		return nil, false, fmt.Errorf("memory: create one-time code %q: %w", c.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.oneTime[c.ID]; ok {
		return nil, false, fmt.Errorf("memory: create one-time code %q: %w", c.ID, taken("id"))
	}
	vs := s.incrementCounters(now, count)
	if !store.WithinLimits(count, vs) {
		return vs, false, nil
	}
	put(s, s.oneTime, c.ID, cloneOneTimeCode(c))
	if latest != nil {
		put(s, s.oneTime, latest.ID, cloneOneTimeCode(*latest))
	}
	return vs, true, nil
}

// GetOneTimeCode implements store.OneTimeCodes.
func (s *Store) GetOneTimeCode(ctx context.Context, id string) (store.OneTimeCode, error) {
	if err := s.lock(ctx); err != nil {
		return store.OneTimeCode{}, fmt.Errorf("memory: get one-time code %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.oneTime[id]
	if !ok {
		return store.OneTimeCode{}, fmt.Errorf("memory: get one-time code %q: %w", id, store.ErrNotFound)
	}
	return cloneOneTimeCode(it.rec), nil
}

// UpdateOneTimeCode implements store.OneTimeCodes. The Purpose may change (the code moves
// to the other listing); the ID may not.
func (s *Store) UpdateOneTimeCode(ctx context.Context, id string, update func(store.OneTimeCode) (store.OneTimeCode, error)) (store.OneTimeCode, error) {
	return updateRecord(s, ctx, "one-time code", id, s.oneTime, cloneOneTimeCode, update, func(_, c store.OneTimeCode) error {
		if c.ID != id {
			return errIDChanged
		}
		put(s, s.oneTime, id, c)
		return nil
	})
}

// ConsumeOneTimeCode implements store.OneTimeCodes.
func (s *Store) ConsumeOneTimeCode(ctx context.Context, id string) (store.OneTimeCode, error) {
	if err := s.lock(ctx); err != nil {
		return store.OneTimeCode{}, fmt.Errorf("memory: consume one-time code %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.oneTime[id]
	if !ok {
		return store.OneTimeCode{}, fmt.Errorf("memory: consume one-time code %q: %w", id, store.ErrNotFound)
	}
	delete(s.oneTime, id)
	return it.rec, nil // no copy needed: nothing refers to it any more
}

// UseOneTimeCode implements store.OneTimeCodes: decide runs under the lock.
func (s *Store) UseOneTimeCode(ctx context.Context, id string, decide func(store.OneTimeCode) bool) (store.OneTimeCode, bool, error) {
	if err := s.lock(ctx); err != nil {
		return store.OneTimeCode{}, false, fmt.Errorf("memory: use one-time code %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.oneTime[id]
	if !ok {
		return store.OneTimeCode{}, false, fmt.Errorf("memory: use one-time code %q: %w", id, store.ErrNotFound)
	}
	c := cloneOneTimeCode(it.rec)
	c.Attempts++
	if decide(cloneOneTimeCode(c)) {
		delete(s.oneTime, id)
		return c, true, nil
	}
	put(s, s.oneTime, id, cloneOneTimeCode(c))
	return c, false, nil
}

// ListOneTimeCodes implements store.OneTimeCodes.
func (s *Store) ListOneTimeCodes(ctx context.Context, purpose string, opts store.ListOptions) ([]store.OneTimeCode, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list one-time codes of purpose %q: %w", purpose, err)
	}
	defer s.mu.Unlock()
	return page(s.oneTime, opts, func(c store.OneTimeCode) bool { return c.Purpose == purpose }, cloneOneTimeCode), nil
}
