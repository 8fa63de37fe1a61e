package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// blockingSender is a test double for a slow server: each send waits for release (or its
// context) and is counted.
type blockingSender struct {
	release chan struct{}
	started chan struct{}
	sent    atomic.Int64
	err     error
}

func newBlockingSender() *blockingSender {
	return &blockingSender{release: make(chan struct{}), started: make(chan struct{}, 100)}
}

func (b *blockingSender) SendEmail(ctx context.Context, m notify.Email) error {
	return b.wait(ctx)
}

func (b *blockingSender) SendSMS(ctx context.Context, m notify.SMS) error {
	return b.wait(ctx)
}

func (b *blockingSender) wait(ctx context.Context) error {
	select {
	case b.started <- struct{}{}:
	default: // nobody counts past the buffer (TestQueueConcurrentClose sends hundreds)
	}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if b.err != nil {
		return b.err
	}
	b.sent.Add(1)
	return nil
}

// failingSender fails every message with an error that, like some servers' replies, names
// the recipient.
type failingSender struct{}

func (failingSender) SendEmail(_ context.Context, m notify.Email) error {
	return fmt.Errorf("%w: smtp: server replied 550 <%s>: mailbox unavailable", notify.ErrPermanent, m.To)
}

func (failingSender) SendSMS(_ context.Context, m notify.SMS) error {
	return fmt.Errorf("twilio: HTTP 503: the number %s is unreachable", m.To)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQueueNeverBlocks: with the only worker stuck on a slow server and the buffer full,
// enqueueing fails at once with ErrQueueFull instead of holding the HTTP request — the
// response time must not depend on delivery (user enumeration, slow-server DoS).
func TestQueueNeverBlocks(t *testing.T) {
	s := newBlockingSender()
	q := notify.NewQueue(s, s, nil, notify.QueueOptions{Size: 2, Workers: 1})
	defer func() { close(s.release); q.Close(context.Background()) }()
	if err := q.Email(notify.Email{To: "a@example.com", Kind: "login_code"}); err != nil {
		t.Fatal(err)
	}
	<-s.started // the worker holds the first message
	for i := range 2 {
		if err := q.SMS(notify.SMS{To: "+14155550123", Kind: "login_code"}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	start := time.Now()
	err := q.Email(notify.Email{To: "b@example.com", Kind: "login_code"})
	if !errors.Is(err, notify.ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("enqueueing to a full queue took %s", d)
	}
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want 2", q.Len())
	}
}

// TestQueueNilSender: a channel without a sender is an error naming the channel, not a
// panic and not a silent drop.
func TestQueueNilSender(t *testing.T) {
	q := notify.NewQueue(nil, nil, nil, notify.QueueOptions{})
	defer q.Close(context.Background())
	err := q.Email(notify.Email{To: "a@example.com"})
	if !errors.Is(err, notify.ErrNotConfigured) || !strings.Contains(err.Error(), "email") {
		t.Errorf("email: %v", err)
	}
	err = q.SMS(notify.SMS{To: "+14155550123"})
	if !errors.Is(err, notify.ErrNotConfigured) || !strings.Contains(err.Error(), "SMS") {
		t.Errorf("sms: %v", err)
	}
	s := newBlockingSender()
	close(s.release)
	q2 := notify.NewQueue(s, nil, nil, notify.QueueOptions{})
	defer q2.Close(context.Background())
	if err := q2.Email(notify.Email{To: "a@example.com"}); err != nil {
		t.Errorf("email with a sender: %v", err)
	}
	if err := q2.SMS(notify.SMS{To: "+14155550123"}); !errors.Is(err, notify.ErrNotConfigured) {
		t.Errorf("sms without a sender: %v", err)
	}
}

// TestQueueLogsFailuresWithoutSecrets: a failed delivery is logged with its kind and a
// redacted recipient; neither the body (the login code) nor the full address or number
// appears in the log, even when the server's error names the recipient.
func TestQueueLogsFailuresWithoutSecrets(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	q := notify.NewQueue(failingSender{}, failingSender{}, logger, notify.QueueOptions{})
	if err := q.Email(notify.Email{To: "alice.smith@example.com", Subject: "Your code", Text: "Your code is 739164", HTML: "<p>739164</p>", Kind: "login_code"}); err != nil {
		t.Fatal(err)
	}
	if err := q.SMS(notify.SMS{To: "+14155550123", Body: "739164 is your code", Kind: "verify_phone"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, secret := range []string{"739164", "alice.smith@example.com", "+14155550123"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"kind":"login_code"`, `"kind":"verify_phone"`, `"to":"a***@example.com"`, `"to":"+1******23"`, `"permanent":true`, "550", "503"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

// TestQueueCloseDrains: Close delivers what is queued before returning; afterwards
// enqueueing fails with ErrQueueClosed; OnSent sees every delivery with its latency from
// enqueueing.
func TestQueueCloseDrains(t *testing.T) {
	s := newBlockingSender()
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	q := notify.NewQueue(s, s, nil, notify.QueueOptions{Workers: 2, OnSent: func(kind string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if kind != "magic_link" {
			t.Errorf("kind %q", kind)
		}
		latencies = append(latencies, d)
	}})
	for range 20 {
		if err := q.Email(notify.Email{To: "a@example.com", Kind: "magic_link"}); err != nil {
			t.Fatal(err)
		}
	}
	time.AfterFunc(20*time.Millisecond, func() { close(s.release) })
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.sent.Load(); n != 20 {
		t.Fatalf("%d delivered before Close returned, want 20", n)
	}
	mu.Lock()
	if len(latencies) != 20 || latencies[0] < 15*time.Millisecond {
		t.Errorf("OnSent: %d calls, first latency %v (want 20 calls, >= 15ms: measured from enqueueing)", len(latencies), latencies)
	}
	mu.Unlock()
	if err := q.Email(notify.Email{To: "a@example.com"}); !errors.Is(err, notify.ErrQueueClosed) {
		t.Fatalf("after Close: %v, want ErrQueueClosed", err)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestQueueCloseGivesUp: when the server hangs, Close returns at its context's deadline,
// cancels the delivery in progress, drops the rest and logs how many.
func TestQueueCloseGivesUp(t *testing.T) {
	var logs syncBuffer
	s := newBlockingSender() // never released
	q := notify.NewQueue(s, nil, slog.New(slog.NewTextHandler(&logs, nil)), notify.QueueOptions{Workers: 1})
	for range 5 {
		if err := q.Email(notify.Email{To: "a@example.com", Kind: "login_code"}); err != nil {
			t.Fatal(err)
		}
	}
	<-s.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %s", d)
	}
	if !strings.Contains(logs.String(), "dropped=4") {
		t.Errorf("log lacks dropped=4:\n%s", logs.String())
	}
}

// TestQueueConcurrentClose: enqueueing from many goroutines while Close runs neither panics
// (send on a closed channel) nor races (go test -race).
func TestQueueConcurrentClose(t *testing.T) {
	s := newBlockingSender()
	close(s.release)
	q := notify.NewQueue(s, s, nil, notify.QueueOptions{Size: 8})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				err := q.SMS(notify.SMS{To: "+14155550123"})
				if err != nil && !errors.Is(err, notify.ErrQueueClosed) && !errors.Is(err, notify.ErrQueueFull) {
					t.Error(err)
				}
			}
		})
	}
	time.Sleep(time.Millisecond)
	_ = q.Close(context.Background())
	wg.Wait()
}

// TestRedactRecipient: logs keep enough to tell recipients apart, not enough to contact them.
func TestRedactRecipient(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a***@example.com",
		"élodie@example.fr": "é***@example.fr",
		"+14155550123":      "+1******23",
		"+447700900123":     "+4******23",
		"12345":             "***",
		"":                  "",
	} {
		if got := notify.RedactRecipient(in); got != want {
			t.Errorf("RedactRecipient(%q) = %q, want %q", in, got, want)
		}
	}
}
