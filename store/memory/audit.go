package memory

import (
	"context"
	"fmt"
	"maps"

	"github.com/gatehouse-dev/gatehouse/store"
)

// AppendAuditEvents implements store.AuditEvents.
func (s *Store) AppendAuditEvents(ctx context.Context, events ...store.AuditEvent) error {
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if err := store.CheckAuditEvent(e); err != nil {
			return fmt.Errorf("memory: append audit events: %w", err)
		}
		if seen[e.ID] {
			return fmt.Errorf("memory: append audit events: %w", taken("id"))
		}
		seen[e.ID] = true
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: append audit events: %w", err)
	}
	defer s.mu.Unlock()
	for _, e := range events {
		if _, ok := s.audit[e.ID]; ok {
			return fmt.Errorf("memory: append audit events: %w", taken("id"))
		}
	}
	for _, e := range events {
		put(s, s.audit, e.ID, cloneAuditEvent(e))
	}
	return nil
}

// ListAuditEvents implements store.AuditEvents.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list audit events: %w", err)
	}
	defer s.mu.Unlock()
	return page(s.audit, store.ListOptions{After: f.After, Limit: f.Limit}, func(e store.AuditEvent) bool {
		return f.Match(e)
	}, cloneAuditEvent), nil
}

func cloneAuditEvent(e store.AuditEvent) store.AuditEvent {
	if e.Details != nil {
		e.Details = maps.Clone(e.Details)
	}
	return e
}
