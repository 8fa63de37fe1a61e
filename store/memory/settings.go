package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

func cloneSetting(s store.Setting) store.Setting {
	s.Value = slices.Clone(s.Value)
	return s
}

// GetSetting implements store.Settings.
func (s *Store) GetSetting(ctx context.Context, key string) (store.Setting, error) {
	if err := s.lock(ctx); err != nil {
		return store.Setting{}, fmt.Errorf("memory: get setting %q: %w", key, err)
	}
	defer s.mu.Unlock()
	v, ok := s.settings[key]
	if !ok {
		return store.Setting{}, fmt.Errorf("memory: get setting %q: %w", key, store.ErrNotFound)
	}
	return cloneSetting(v), nil
}

// ListSettings implements store.Settings.
func (s *Store) ListSettings(ctx context.Context, opts store.ListOptions) ([]store.Setting, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list settings: %w", err)
	}
	defer s.mu.Unlock()
	var keys []string
	for k := range s.settings {
		if k > opts.After {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	keys = keys[:min(len(keys), listLimit(opts.Limit))]
	var out []store.Setting
	for _, k := range keys {
		out = append(out, cloneSetting(s.settings[k]))
	}
	return out, nil
}

// PutSetting implements store.Settings.
func (s *Store) PutSetting(ctx context.Context, rec store.Setting, expected int64) (store.Setting, error) {
	if rec.Key == "" {
		return store.Setting{}, errors.New("memory: put setting: empty key")
	}
	if err := s.lock(ctx); err != nil {
		return store.Setting{}, fmt.Errorf("memory: put setting %q: %w", rec.Key, err)
	}
	defer s.mu.Unlock()
	if cur := s.settings[rec.Key]; cur.Version != expected {
		return store.Setting{}, fmt.Errorf("memory: put setting %q: stored version %d, expected %d: %w",
			rec.Key, cur.Version, expected, store.ErrVersionMismatch)
	}
	rec = cloneSetting(rec)
	rec.Version = expected + 1
	s.rev++
	s.settings[rec.Key] = rec
	return cloneSetting(rec), nil
}

// DeleteSetting implements store.Settings.
func (s *Store) DeleteSetting(ctx context.Context, key string, expected int64) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete setting %q: %w", key, err)
	}
	defer s.mu.Unlock()
	cur, ok := s.settings[key]
	switch {
	case !ok:
		return fmt.Errorf("memory: delete setting %q: %w", key, store.ErrNotFound)
	case cur.Version != expected:
		return fmt.Errorf("memory: delete setting %q: stored version %d, expected %d: %w",
			key, cur.Version, expected, store.ErrVersionMismatch)
	}
	s.rev++
	delete(s.settings, key)
	return nil
}
