package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	// Timeout bounds how long Record waits for the store (default DefaultTimeout).
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

	// The batches waiting for the store (see append).
	mu      sync.Mutex
	queue   []*batch
	queued  int    // events in queue
	next    *batch // the batch new events join (the last of queue), nil: a new one
	writing bool   // a drain goroutine is running
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
	if err := t.append(rec); err != nil {
		t.report(err, rec)
	}
}

// maxBatch bounds the events of one store write (a Badger transaction has a size limit;
// an event is a few hundred bytes).
const maxBatch = 128

// maxQueued bounds the events waiting for the store: when the store hangs, the requests
// that record events fail their event at once instead of piling up (a few MB at most).
const maxQueued = 8192

// errQueueFull: the store has not kept up (it hangs, or is far too slow).
var errQueueFull = errors.New("audit: too many events waiting for the store")

// batch is the events of one store write, the time by which it must be written (the
// Timeout of its first event, the one that has waited longest), and its outcome once done
// is closed.
type batch struct {
	recs     []store.AuditEvent
	deadline time.Time
	err      error
	done     chan struct{}
}

// append stores rec and returns when it is durable, its write failed, or Timeout has
// passed. The events of concurrent requests are written together, group-commit style:
// while one write is in flight the events that arrive join the next batch, which the same
// writer goroutine stores as soon as the first write returns: one store write (one fsync,
// one round trip) for many events, instead of one per event. A request still returns only
// once its event is stored, so that nothing acknowledged is lost on a crash; and never
// later than Timeout after it asked, whatever the store does (a batch past its deadline is
// not written, and at most maxQueued events wait). The writer goroutine exists only while
// there are events to write.
func (t *Trail) append(rec store.AuditEvent) error {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	t.mu.Lock()
	if t.queued >= maxQueued {
		t.mu.Unlock()
		return errQueueFull
	}
	b := t.next
	if b == nil || len(b.recs) >= maxBatch {
		b = &batch{done: make(chan struct{}), deadline: deadline}
		t.queue = append(t.queue, b)
		t.next = b
	}
	b.recs = append(b.recs, rec)
	t.queued++
	if !t.writing {
		t.writing = true
		go t.drain()
	}
	t.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-b.done:
		return b.err
	case <-timer.C:
		return fmt.Errorf("audit: not stored within %s: %w", timeout, context.DeadlineExceeded)
	}
}

// drain writes the queued batches, oldest first, until none is left.
func (t *Trail) drain() {
	for {
		t.mu.Lock()
		if len(t.queue) == 0 {
			t.writing = false
			t.mu.Unlock()
			return
		}
		b := t.queue[0]
		t.queue[0] = nil
		t.queue = t.queue[1:]
		t.queued -= len(b.recs)
		if t.next == b {
			t.next = nil
		}
		t.mu.Unlock()
		t.write(b)
		close(b.done)
	}
}

// write stores the batch b by its deadline. A batch whose deadline has passed is not
// written: its first request has already given up (and reported the event as lost).
func (t *Trail) write(b *batch) {
	ctx, cancel := context.WithDeadline(context.Background(), b.deadline)
	defer cancel()
	if b.err = ctx.Err(); b.err != nil {
		return
	}
	b.err = t.Store.AppendAuditEvents(ctx, b.recs...)
	if b.err == nil || len(b.recs) == 1 || ctx.Err() != nil {
		return
	}
	// All or none failed: one bad (or duplicate) event must not take the others with it,
	// so each is tried on its own and keeps its own outcome — unless the store itself is
	// failing (three failures in a row): then the rest fail with the batch.
	failed := 0
	for i, r := range b.recs {
		if failed == 3 || ctx.Err() != nil {
			for _, r := range b.recs[i:] {
				t.report(b.err, r)
			}
			break
		}
		if err := t.Store.AppendAuditEvents(ctx, r); err != nil {
			t.report(err, r)
			failed++
		} else {
			failed = 0
		}
	}
	b.err = nil // each event's failure is reported above
}

// report logs and counts an event the store could not keep.
func (t *Trail) report(err error, r store.AuditEvent) {
	metrics.Inc(t.Failures)
	if t.Logger != nil {
		t.Logger.Error("audit event not stored", "error", err, "id", r.ID, "type", r.Type)
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
