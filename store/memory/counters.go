package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// counter is a fixed-window counter.
type counter struct {
	value     int64
	windowEnd time.Time
}

// IncrementCounter implements store.Counters.
func (s *Store) IncrementCounter(ctx context.Context, name string, delta int64, window time.Duration, now time.Time) (int64, time.Time, error) {
	if err := s.lock(ctx); err != nil {
		return 0, time.Time{}, fmt.Errorf("memory: increment counter %q: %w", name, err)
	}
	defer s.mu.Unlock()
	c, ok := s.counters[name]
	if !ok || !c.windowEnd.After(now) {
		c = counter{windowEnd: now.Add(window)}
	}
	c.value += delta
	s.counters[name] = c
	return c.value, c.windowEnd, nil
}

// incrementCounters applies incs; the caller holds the lock.
func (s *Store) incrementCounters(now time.Time, incs []store.CounterIncrement) []store.CounterValue {
	out := make([]store.CounterValue, len(incs))
	for i, in := range incs {
		c, ok := s.counters[in.Key]
		if !ok || !c.windowEnd.After(now) {
			c = counter{windowEnd: now.Add(in.Window)}
		}
		c.value += in.Delta
		s.counters[in.Key] = c
		out[i] = store.CounterValue{Value: c.value, WindowEnd: c.windowEnd}
	}
	return out
}

// GetCounter implements store.Counters.
func (s *Store) GetCounter(ctx context.Context, name string, now time.Time) (int64, time.Time, error) {
	if err := s.lock(ctx); err != nil {
		return 0, time.Time{}, fmt.Errorf("memory: get counter %q: %w", name, err)
	}
	defer s.mu.Unlock()
	c, ok := s.counters[name]
	if !ok || !c.windowEnd.After(now) {
		return 0, time.Time{}, nil
	}
	return c.value, c.windowEnd, nil
}

// ResetCounter implements store.Counters.
func (s *Store) ResetCounter(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: reset counter %q: %w", name, err)
	}
	defer s.mu.Unlock()
	delete(s.counters, name)
	return nil
}
