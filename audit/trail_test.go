package audit_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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

func (failingStore) AppendAuditEvents(context.Context, ...store.AuditEvent) error {
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

// slowStore is a memory store whose writes take a while (like a synced disk write) and
// are counted; it refuses, all or none, a batch holding an event of type "poison".
type slowStore struct {
	*memory.Store
	writes atomic.Int64
}

func (s *slowStore) AppendAuditEvents(ctx context.Context, events ...store.AuditEvent) error {
	s.writes.Add(1)
	time.Sleep(2 * time.Millisecond)
	for _, e := range events {
		if e.Type == "poison" {
			return errors.New("refused")
		}
	}
	return s.Store.AppendAuditEvents(ctx, events...)
}

// TestTrailGroupsConcurrentEvents: the events of concurrent requests share store writes
// (issue 15: "find out what batching does"), yet each Record returns only once its own
// event is stored (issue 18: every security event "is kept in the store"; a crash right
// after a response must not lose its event).
func TestTrailGroupsConcurrentEvents(t *testing.T) {
	s := &slowStore{Store: memory.New()}
	tr := &audit.Trail{Store: s}
	const n = 64
	var wg sync.WaitGroup
	var missing atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := "u" + strconv.Itoa(i)
			tr.Record(t.Context(), audit.Event{Type: audit.LoginSucceeded, UserID: user})
			if got, err := s.ListAuditEvents(t.Context(), store.AuditFilter{UserID: user}); err != nil || len(got) != 1 {
				missing.Add(1) // Record returned before its event was stored
			}
		}()
	}
	wg.Wait()
	if m := missing.Load(); m != 0 {
		t.Errorf("%d of %d Record calls returned before their event was stored", m, n)
	}
	got, _ := s.ListAuditEvents(t.Context(), store.AuditFilter{Limit: 1000})
	if len(got) != n {
		t.Errorf("%d events stored, want %d", len(got), n)
	}
	if w := s.writes.Load(); w >= n {
		t.Errorf("%d store writes for %d concurrent events: not grouped", w, n)
	}
}

// TestTrailBatchOneBadEvent: a batch the store refuses because of one event does not take
// the events of the other requests with it: they are stored, and only the bad one is
// counted as a failure.
func TestTrailBatchOneBadEvent(t *testing.T) {
	s := &slowStore{Store: memory.New()}
	var failures atomic.Int64
	tr := &audit.Trail{Store: s, Failures: (*atomicCounter)(&failures)}
	var wg sync.WaitGroup
	// A first event keeps the writer busy while the others queue up into one batch.
	wg.Add(1)
	go func() { defer wg.Done(); tr.Record(t.Context(), audit.Event{Type: audit.LoginFailed, UserID: "first"}) }()
	time.Sleep(time.Millisecond)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			typ := audit.LoginSucceeded
			if i == 3 {
				typ = "poison"
			}
			tr.Record(t.Context(), audit.Event{Type: typ, UserID: "u" + strconv.Itoa(i)})
		}()
	}
	wg.Wait()
	got, _ := s.ListAuditEvents(t.Context(), store.AuditFilter{Limit: 1000})
	if len(got) != 8 || failures.Load() != 1 {
		t.Errorf("%d events stored (want 8), %d failures (want 1)", len(got), failures.Load())
	}
}

type atomicCounter atomic.Int64

func (c *atomicCounter) Inc() { (*atomic.Int64)(c).Add(1) }

// hangingStore is a store that is down without answering (a partitioned database): a
// write returns only when its context ends.
type hangingStore struct {
	store.AuditEvents
	calls atomic.Int64
}

func (h *hangingStore) AppendAuditEvents(ctx context.Context, _ ...store.AuditEvent) error {
	h.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestTrailHangingStoreBoundsRequests: "it never fails the action that records" — and it
// must not hold it either: with the store hanging, every Record returns (its event counted
// as lost) once its Timeout has passed, however many events queue up behind the first
// write. Queued batches do not each get a Timeout of their own in turn: 1000 events are 8
// batches, so a queue that waited batch after batch would hold the last request ~8 s.
func TestTrailHangingStoreBoundsRequests(t *testing.T) {
	s := &hangingStore{}
	var failures atomic.Int64
	tr := &audit.Trail{Store: s, Timeout: time.Second, Failures: (*atomicCounter)(&failures)}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr.Record(t.Context(), audit.Event{Type: audit.LoginSucceeded, UserID: "u" + strconv.Itoa(i)})
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the last of 1000 requests returned after %s with a 1s Timeout", took)
	}
	if f := failures.Load(); f != 1000 {
		t.Errorf("%d failures counted, want 1000 (every event lost)", f)
	}
	if c := s.calls.Load(); c > 8 {
		t.Errorf("%d store calls for a hanging store, want at most one per batch", c)
	}
}
