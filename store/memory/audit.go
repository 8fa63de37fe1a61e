package memory

import (
	"context"
	"fmt"
	"maps"

	"github.com/gatehouse-dev/gatehouse/store"
)

// AppendAuditEvent implements store.AuditEvents.
func (s *Store) AppendAuditEvent(ctx context.Context, e store.AuditEvent) error {
	if err := store.CheckAuditEvent(e); err != nil {
		return fmt.Errorf("memory: append audit event: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: append audit event: %w", err)
	}
	defer s.mu.Unlock()
	if _, ok := s.audit[e.ID]; ok {
		return fmt.Errorf("memory: append audit event: %w", taken("id"))
	}
	put(s, s.audit, e.ID, cloneAuditEvent(e))
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
