package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/store"
)

// DefaultRetain is how long the store keeps an event unless configured otherwise.
const DefaultRetain = 90 * 24 * time.Hour

// DefaultTimeout bounds the store write of one event.
const DefaultTimeout = 2 * time.Second

// Trail is the Recorder of a running Gatehouse: it gives each event its ID and time, writes
// it as one log line (Log) and appends it to the store (Store) with the retention. It never
// fails the action that records: a store that cannot write within Timeout is logged on
// Logger and counted on Failures, and the request goes on. Every field is optional.
type Trail struct {
	// Log writes one event as one structured line (module/: the gatehouse.audit zap
	// logger). nil: no log line.
	Log func(Event)
	// Store keeps the events. nil: not stored.
	Store store.AuditEvents
	// Retain is how long the store keeps an event (ExpiresAt = Time + Retain); 0 keeps
	// it forever.
	Retain time.Duration
	// Timeout bounds one store write (default DefaultTimeout).
	Timeout time.Duration
	// ClientIP returns the client's IP of the request ctx belongs to, for events whose ctx
	// carries none (WithIP); module/ reads Caddy's resolved client IP. nil: none.
	ClientIP func(ctx context.Context) string
	// Now is the clock (default time.Now); Rand the randomness of IDs (default crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Logger reports store failures (nil: not reported).
	Logger *slog.Logger
	// Failures counts the events the store could not keep (nil: not counted).
	Failures metrics.Counter
}

var _ Recorder = (*Trail)(nil)

// Record implements Recorder. It sets e.ID and e.Time (the clock's time, unless e.Time is
// set), and e.IP and e.Actor from ctx (WithIP or ClientIP, WithActor) unless they are set.
func (t *Trail) Record(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		if t.Now != nil {
			e.Time = t.Now()
		} else {
			e.Time = time.Now()
		}
	}
	e.Time = e.Time.UTC()
	e.ID = t.newID(e.Time)
	if e.IP == "" {
		e.IP = IPFrom(ctx)
	}
	if e.IP == "" && t.ClientIP != nil {
		e.IP = t.ClientIP(ctx)
	}
	if e.Actor == "" {
		e.Actor = ActorFrom(ctx)
	}
	if t.Log != nil {
		t.Log(e)
	}
	if t.Store == nil {
		return
	}
	rec := ToStore(e)
	if t.Retain > 0 {
		rec.ExpiresAt = e.Time.Add(t.Retain)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// The request may end (or be cancelled) right after the action: the event is still
	// kept, within the timeout.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := t.Store.AppendAuditEvent(wctx, rec); err != nil {
		metrics.Inc(t.Failures)
		if t.Logger != nil {
			t.Logger.Error("audit event not stored", "error", err, "id", e.ID, "type", e.Type)
		}
	}
}

// newID returns a unique ID whose first 16 characters encode at (store.AuditEventIDPrefix)
// followed by 16 random hex digits.
func (t *Trail) newID(at time.Time) string {
	var b [8]byte
	r := t.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		panic("audit: no randomness: " + err.Error()) // crypto/rand does not fail
	}
	return store.AuditEventIDPrefix(at) + hex.EncodeToString(b[:])
}

// ToStore converts an event to its store record (without expiry).
func ToStore(e Event) store.AuditEvent {
	return store.AuditEvent{ID: e.ID, Time: e.Time, Type: e.Type, Actor: e.Actor, UserID: e.UserID, ClientID: e.ClientID,
		IP: e.IP, Method: e.Method, Reason: e.Reason, Details: e.Details}
}

// FromStore converts a stored record back to an event.
func FromStore(r store.AuditEvent) Event {
	return Event{ID: r.ID, Time: r.Time, Type: r.Type, Actor: r.Actor, UserID: r.UserID, ClientID: r.ClientID,
		IP: r.IP, Method: r.Method, Reason: r.Reason, Details: r.Details}
}

// Or returns r, or Discard when r is nil.
func Or(r Recorder) Recorder {
	if r == nil {
		return Discard
	}
	return r
}

type ipKey struct{}

// WithIP returns ctx carrying the client's IP (as Caddy resolved it), which Trail.Record
// puts in events that do not set one. The portal sets it for every request.
func WithIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// IPFrom returns the IP WithIP put in ctx ("" if none).
func IPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}

type actorKey struct{}

// WithActor returns ctx carrying who acts (an administrator's user ID, "client:<id>",
// "caddy-admin" for Caddy's admin endpoint), which Trail.Record puts in events that do not
// name their actor: the administrator's writes reach the domain packages, which do not
// know who asked.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor put in ctx ("" if none).
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// Memory is a Recorder that keeps the events in memory, for tests.
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Record implements Recorder; it fills IP and Actor from ctx as Trail does.
func (m *Memory) Record(ctx context.Context, e Event) {
	if e.IP == "" {
		e.IP = IPFrom(ctx)
	}
	if e.Actor == "" {
		e.Actor = ActorFrom(ctx)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

// Events returns a copy of the events recorded so far.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events)
}
