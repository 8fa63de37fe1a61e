package audit_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// TestTrailRecords: an event goes to the log sink and the store with a unique,
// time-ordered ID, the clock's time, the retention, and the IP and actor of its context.
func TestTrailRecords(t *testing.T) {
	s := memory.New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var logged []audit.Event
	tr := &audit.Trail{Store: s, Retain: time.Hour, Now: func() time.Time { return now }, Log: func(e audit.Event) { logged = append(logged, e) }}
	ctx := audit.WithActor(audit.WithIP(t.Context(), "192.0.2.9"), "caddy-admin")
	for range 3 {
		tr.Record(ctx, audit.Event{Type: audit.UserDisabled, UserID: "u1"})
		now = now.Add(time.Nanosecond)
	}
	got, err := s.ListAuditEvents(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(logged) != 3 {
		t.Fatalf("%d stored, %d logged, want 3 each", len(got), len(logged))
	}
	for i, e := range got {
		if e.ID != logged[i].ID || e.IP != "192.0.2.9" || e.Actor != "caddy-admin" || !e.ExpiresAt.Equal(e.Time.Add(time.Hour)) {
			t.Errorf("event %d: %+v (logged %+v)", i, e, logged[i])
		}
		if i > 0 && (e.ID <= got[i-1].ID || !e.Time.After(got[i-1].Time)) {
			t.Errorf("events out of order: %s after %s", e.ID, got[i-1].ID)
		}
	}
	// An actor the event names wins over the context's.
	tr.Record(ctx, audit.Event{Type: audit.LoginSucceeded, Actor: "u1", UserID: "u1"})
	got, _ = s.ListAuditEvents(t.Context(), store.AuditFilter{Type: audit.LoginSucceeded})
	if len(got) != 1 || got[0].Actor != "u1" {
		t.Errorf("explicit actor: %+v", got)
	}
}

type failingStore struct{ store.AuditEvents }

func (failingStore) AppendAuditEvent(context.Context, store.AuditEvent) error {
	return errors.New("disk full")
}

type counter struct{ n int }

func (c *counter) Inc() { c.n++ }

// TestTrailStoreFailure: "Record never fails the action it reports": a store that cannot
// write is counted, and the event is still logged.
func TestTrailStoreFailure(t *testing.T) {
	var c counter
	var logged []string
	tr := &audit.Trail{Store: failingStore{}, Failures: &c, Log: func(e audit.Event) { logged = append(logged, e.Type) }}
	tr.Record(t.Context(), audit.Event{Type: audit.LoginFailed})
	if c.n != 1 || !slices.Equal(logged, []string{audit.LoginFailed}) {
		t.Errorf("failures %d, logged %v", c.n, logged)
	}
}

// TestTrailCancelledRequest: an event of a request whose context is already cancelled (the
// client went away right after the action) is still stored.
func TestTrailCancelledRequest(t *testing.T) {
	s := memory.New()
	tr := &audit.Trail{Store: s}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tr.Record(ctx, audit.Event{Type: audit.SessionEnded, UserID: "u1"})
	if got, _ := s.ListAuditEvents(t.Context(), store.AuditFilter{}); len(got) != 1 {
		t.Errorf("%d events stored, want 1", len(got))
	}
}
