package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// auditEvent returns an event at t whose ID is the prefix of t followed by suffix, with
// fix applied.
func auditEvent(t time.Time, suffix, typ, userID string, fix func(*store.AuditEvent)) store.AuditEvent {
	e := store.AuditEvent{ID: store.AuditEventIDPrefix(t) + suffix, Time: t, Type: typ, UserID: userID, Actor: userID}
	if fix != nil {
		fix(&e)
	}
	return e
}

// auditIDs returns the IDs of events, in order.
func auditIDs(events []store.AuditEvent) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// testAuditEvents: the audit trail keeps every event as appended, lists them oldest first,
// filtered by user, actor, type and time (Since inclusive, Until exclusive, to the
// nanosecond), pages with the After cursor, refuses a duplicate or malformed event, and
// lets an event go when its retention has passed.
func testAuditEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	s, ctx := newStore(t), t.Context()

	// Appended out of order; listed in time order.
	var events []store.AuditEvent
	for i, c := range []struct {
		d         time.Duration
		typ, user string
		actor     string
	}{
		{3 * time.Minute, "login.failed", "", ""},
		{time.Minute, "login.succeeded", "u1", "u1"},
		{2 * time.Minute, "token.issued", "u1", "client:app"},
		{4 * time.Minute, "login.succeeded", "u2", "u2"},
		{4*time.Minute + time.Nanosecond, "session.ended", "u1", "u1"},
	} {
		e := auditEvent(at(c.d), fmt.Sprintf("%04x", i), c.typ, c.user, func(e *store.AuditEvent) {
			e.Actor, e.IP, e.Method = c.actor, "192.0.2.7", "password"
			e.Details = map[string]string{"n": fmt.Sprint(i)}
			e.ExpiresAt = at(90 * 24 * time.Hour)
		})
		ok(t, s.AppendAuditEvents(ctx, e), "append "+c.typ)
		events = append(events, e)
	}
	e0, e1, e2, e3, e4 := events[0], events[1], events[2], events[3], events[4]
	all, err := s.ListAuditEvents(ctx, store.AuditFilter{})
	ok(t, err, "list all")
	same(t, all, []store.AuditEvent{e1, e2, e0, e3, e4}, "all events, oldest first")

	list := func(f store.AuditFilter, want []store.AuditEvent, what string) {
		t.Helper()
		got, err := s.ListAuditEvents(ctx, f)
		ok(t, err, what)
		if fmt.Sprint(auditIDs(got)) != fmt.Sprint(auditIDs(want)) {
			t.Fatalf("%s: got %q, want %q", what, auditIDs(got), auditIDs(want))
		}
	}
	list(store.AuditFilter{UserID: "u1"}, []store.AuditEvent{e1, e2, e4}, "by user")
	list(store.AuditFilter{Actor: "client:app"}, []store.AuditEvent{e2}, "by actor")
	list(store.AuditFilter{Type: "login.succeeded"}, []store.AuditEvent{e1, e3}, "by type")
	list(store.AuditFilter{UserID: "u1", Type: "login.succeeded"}, []store.AuditEvent{e1}, "by user and type")
	list(store.AuditFilter{Since: at(2 * time.Minute)}, []store.AuditEvent{e2, e0, e3, e4}, "since (inclusive)")
	list(store.AuditFilter{Until: at(3 * time.Minute)}, []store.AuditEvent{e1, e2}, "until (exclusive)")
	list(store.AuditFilter{Since: at(4*time.Minute + time.Nanosecond)}, []store.AuditEvent{e4}, "since, to the nanosecond")
	list(store.AuditFilter{Until: at(4*time.Minute + time.Nanosecond)}, []store.AuditEvent{e1, e2, e0, e3}, "until, to the nanosecond")
	list(store.AuditFilter{Since: at(time.Minute), Until: at(4 * time.Minute), UserID: "u1"}, []store.AuditEvent{e1, e2}, "since, until and user")
	list(store.AuditFilter{UserID: "nobody"}, nil, "unknown user")

	// Paging: After is the last ID of the previous page.
	list(store.AuditFilter{Limit: 2}, []store.AuditEvent{e1, e2}, "page 1")
	list(store.AuditFilter{Limit: 2, After: e2.ID}, []store.AuditEvent{e0, e3}, "page 2")
	list(store.AuditFilter{Limit: 2, After: e3.ID}, []store.AuditEvent{e4}, "page 3")
	list(store.AuditFilter{Limit: 2, After: e4.ID}, nil, "past the end")
	list(store.AuditFilter{UserID: "u1", Limit: 1, After: e1.ID}, []store.AuditEvent{e2}, "page of one user")

	// Events are never overwritten, and a malformed event is refused.
	dup := e1
	dup.Type = "user.disabled"
	isErr(t, s.AppendAuditEvents(ctx, dup), store.ErrAlreadyExists, "append with a taken ID")
	bad := auditEvent(at(time.Hour), "x", "login.failed", "", nil)
	bad.ID = "not-a-time"
	if err := s.AppendAuditEvents(ctx, bad); err == nil {
		t.Fatal("an event whose ID does not start with its time was appended")
	}
	bad = auditEvent(at(time.Hour), "x", "", "", nil)
	if err := s.AppendAuditEvents(ctx, bad); err == nil {
		t.Fatal("an event without a type was appended")
	}
	// A batch is one write, all or none: a taken ID, an ID repeated within the batch or a
	// malformed event stores nothing of it (the audit trail groups the events of
	// concurrent requests into one batch; a refused batch must not half-apply).
	fresh := auditEvent(at(2*time.Hour), "f", "login.failed", "u7", nil)
	isErr(t, s.AppendAuditEvents(ctx, fresh, dup), store.ErrAlreadyExists, "a batch with a taken ID")
	isErr(t, s.AppendAuditEvents(ctx, fresh, fresh), store.ErrAlreadyExists, "a batch repeating an ID")
	if err := s.AppendAuditEvents(ctx, fresh, bad); err == nil {
		t.Fatal("a batch with an event without a type was appended")
	}
	list(store.AuditFilter{UserID: "u7"}, nil, "after the refused batches")
	list(store.AuditFilter{}, []store.AuditEvent{e1, e2, e0, e3, e4}, "after the refused appends")

	// A copy shares nothing with the store.
	got, err := s.ListAuditEvents(ctx, store.AuditFilter{Limit: 1})
	ok(t, err, "list one")
	got[0].Details["n"] = "changed"
	again, err := s.ListAuditEvents(ctx, store.AuditFilter{Limit: 1})
	ok(t, err, "list one again")
	same(t, again[0], e1, "the stored event after changing a listed copy")

	// Retention: an event past its ExpiresAt goes (GarbageCollect, or Badger's TTL on the
	// wall clock: this expiry is long past).
	old := auditEvent(time.Unix(100, 0).UTC(), "old", "login.failed", "u9", func(e *store.AuditEvent) {
		e.ExpiresAt = time.Unix(200, 0).UTC()
	})
	ok(t, s.AppendAuditEvents(ctx, old), "append an expired event")
	switch gc := s.(type) {
	case store.GarbageCollector:
		_, err := gc.GarbageCollect(ctx, base)
		ok(t, err, "garbage collect")
	case interface {
		GarbageCollect(ctx context.Context, now time.Time) (map[string]int64, error)
	}:
		_, err := gc.GarbageCollect(ctx, base)
		ok(t, err, "garbage collect")
	}
	list(store.AuditFilter{UserID: "u9"}, nil, "an event past its retention")
	list(store.AuditFilter{}, []store.AuditEvent{e1, e2, e0, e3, e4}, "the events within their retention")

	// A batch that is accepted is stored whole.
	b1, b2 := fresh, auditEvent(at(2*time.Hour), "g", "login.succeeded", "u7", nil)
	ok(t, s.AppendAuditEvents(ctx, b1, b2), "append a batch")
	list(store.AuditFilter{UserID: "u7"}, []store.AuditEvent{b1, b2}, "a stored batch")
}
