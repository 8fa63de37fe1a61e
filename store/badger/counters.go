package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// counter is the stored form of a fixed-window counter.
type counter struct {
	Value     int64     `json:"value"`
	WindowEnd time.Time `json:"window_end"`
}

// IncrementCounter implements store.Counters. The record expires at the window end.
func (s *Store) IncrementCounter(ctx context.Context, name string, delta int64, window time.Duration, now time.Time) (int64, time.Time, error) {
	nk := key(pCounter, name)
	defer s.lockKey(nk)()
	var c counter
	err := s.update(ctx, func(txn *badger.Txn) error {
		c = counter{}
		err := get(txn, nk, &c)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err != nil || !c.WindowEnd.After(now) {
			c = counter{WindowEnd: now.Add(window)}
		}
		c.Value += delta
		return put(txn, nk, c, c.WindowEnd)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("badger: increment counter %q: %w", name, err)
	}
	return c.Value, c.WindowEnd, nil
}

// counterKeys returns the keys of the counters of incs.
func counterKeys(incs []store.CounterIncrement) [][]byte {
	keys := make([][]byte, len(incs))
	for i, in := range incs {
		keys[i] = key(pCounter, in.Key)
	}
	return keys
}

// incrementCounters applies incs (whose keys are keys) in txn.
func incrementCounters(txn *badger.Txn, keys [][]byte, incs []store.CounterIncrement, now time.Time) ([]store.CounterValue, error) {
	out := make([]store.CounterValue, len(incs))
	for i, in := range incs {
		var c counter
		err := get(txn, keys[i], &c)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err != nil || !c.WindowEnd.After(now) {
			c = counter{WindowEnd: now.Add(in.Window)}
		}
		c.Value += in.Delta
		if err := put(txn, keys[i], c, c.WindowEnd); err != nil {
			return nil, err
		}
		out[i] = store.CounterValue{Value: c.Value, WindowEnd: c.WindowEnd}
	}
	return out, nil
}

// GetCounter implements store.Counters.
func (s *Store) GetCounter(ctx context.Context, name string, now time.Time) (int64, time.Time, error) {
	var c counter
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pCounter, name), &c)
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.WindowEnd.After(now)) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("badger: get counter %q: %w", name, err)
	}
	return c.Value, c.WindowEnd, nil
}

// ResetCounter implements store.Counters.
func (s *Store) ResetCounter(ctx context.Context, name string) error {
	if err := s.delete(ctx, key(pCounter, name)); err != nil {
		return fmt.Errorf("badger: reset counter %q: %w", name, err)
	}
	return nil
}
