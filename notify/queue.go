package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Errors of Queue.
var (
	// ErrQueueFull: the buffer is full; the message was not queued.
	ErrQueueFull = errors.New("notify: delivery queue is full")
	// ErrQueueClosed: Close was called; the message was not queued.
	ErrQueueClosed = errors.New("notify: delivery queue is closed")
	// ErrNotConfigured: no sender for the channel (email or SMS) is configured.
	ErrNotConfigured = errors.New("notify: no sender configured")
)

// QueueOptions tune a Queue; zero values take the defaults.
type QueueOptions struct {
	// Size is how many messages may wait (default 1024). Enqueueing to a full queue fails
	// at once with ErrQueueFull rather than block the request.
	Size int
	// Workers is how many messages are delivered at the same time (default 4).
	Workers int
	// Timeout bounds the delivery of one message, retries included (default 30s).
	Timeout time.Duration
	// OnSent, if set, is called after each successful delivery with the message's kind and
	// the time from enqueueing to delivery (for metrics and benchmarks). It runs on a worker:
	// keep it fast.
	OnSent func(kind string, latency time.Duration)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Queue delivers messages in the background. The login handlers enqueue and answer at once,
// so that the response time does not reveal whether an account exists and a message was sent
// (user enumeration), nor depend on a slow mail server. Failures are logged with the kind and
// a redacted recipient (a***@example.com, +1******23), never the body. A Queue is safe for
// concurrent use.
type Queue struct {
	email  EmailSender
	sms    SMSSender
	logger *slog.Logger
	opts   QueueOptions

	mu      sync.RWMutex // guards closed and sending on jobs
	closed  bool
	jobs    chan job
	ctx     context.Context // cancelled when Close gives up waiting
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	dropped atomic.Int64
}

// job is one queued message with its enqueue time.
type job struct {
	email    *Email
	sms      *SMS
	enqueued time.Time
}

func (j job) kind() string {
	if j.email != nil {
		return j.email.Kind
	}
	return j.sms.Kind
}

// NewQueue starts the workers. Either sender may be nil: that channel is then not
// configured, and enqueueing to it returns ErrNotConfigured. logger nil: slog.Default().
func NewQueue(email EmailSender, sms SMSSender, logger *slog.Logger, opts QueueOptions) *Queue {
	if opts.Size <= 0 {
		opts.Size = 1024
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	q := &Queue{email: email, sms: sms, logger: logger, opts: opts, jobs: make(chan job, opts.Size)}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.wg.Add(opts.Workers)
	for range opts.Workers {
		go q.work()
	}
	return q
}

// Email queues m for delivery. It never blocks: it fails with ErrNotConfigured (no email
// sender), ErrQueueFull or ErrQueueClosed.
func (q *Queue) Email(m Email) error {
	if q.email == nil {
		return fmt.Errorf("%w: email delivery is not configured (set an email sender: smtp or outbox)", ErrNotConfigured)
	}
	return q.enqueue(job{email: &m})
}

// SMS queues m for delivery, as Email does.
func (q *Queue) SMS(m SMS) error {
	if q.sms == nil {
		return fmt.Errorf("%w: SMS delivery is not configured (set an sms sender: twilio, webhook or outbox)", ErrNotConfigured)
	}
	return q.enqueue(job{sms: &m})
}

func (q *Queue) enqueue(j job) error {
	j.enqueued = q.opts.Now()
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrQueueClosed
	}
	select {
	case q.jobs <- j:
		return nil
	default:
		return ErrQueueFull
	}
}

// Len returns how many messages wait for a worker.
func (q *Queue) Len() int { return len(q.jobs) }

func (q *Queue) work() {
	defer q.wg.Done()
	for j := range q.jobs {
		if q.ctx.Err() != nil {
			q.dropped.Add(1) // Close gave up waiting
			continue
		}
		q.deliver(j)
	}
}

func (q *Queue) deliver(j job) {
	ctx, cancel := context.WithTimeout(q.ctx, q.opts.Timeout)
	defer cancel()
	var (
		err     error
		channel string
		to      string
		body    string
	)
	if j.email != nil {
		channel, to, body = "email", j.email.To, j.email.Text
		err = q.email.SendEmail(ctx, *j.email)
	} else {
		channel, to, body = "sms", j.sms.To, j.sms.Body
		err = q.sms.SendSMS(ctx, *j.sms)
	}
	latency := q.opts.Now().Sub(j.enqueued)
	redacted := RedactRecipient(to)
	if err != nil {
		// Senders do not put bodies in errors; servers may still echo the recipient.
		msg := err.Error()
		if to != "" {
			msg = strings.ReplaceAll(msg, to, redacted)
		}
		if body != "" {
			msg = strings.ReplaceAll(msg, body, "[body]")
		}
		q.logger.Error("gatehouse: message not delivered", "channel", channel, "kind", j.kind(), "to", redacted,
			"permanent", errors.Is(err, ErrPermanent), "after", latency.Round(time.Millisecond), "error", msg)
		return
	}
	q.logger.Debug("gatehouse: message delivered", "channel", channel, "kind", j.kind(), "to", redacted,
		"latency", latency.Round(time.Millisecond))
	if q.opts.OnSent != nil {
		q.opts.OnSent(j.kind(), latency)
	}
}

// Close stops accepting messages and waits until the queued ones are delivered or ctx is
// done; then it cancels the deliveries in progress, drops what is left (logging how many)
// and returns ctx's error. Close is idempotent.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		q.cancel()
		return nil
	case <-ctx.Done():
	}
	q.cancel() // in-flight sends end; the workers then drop the rest
	<-done
	if dropped := q.dropped.Load(); dropped > 0 {
		q.logger.Warn("gatehouse: delivery queue closed with messages left undelivered", "dropped", dropped)
	}
	return ctx.Err()
}

// RedactRecipient hides most of an email address or phone number for logs:
// alice@example.com → a***@example.com, +14155550123 → +1******23.
func RedactRecipient(to string) string {
	if to == "" {
		return ""
	}
	if local, domain, ok := strings.Cut(to, "@"); ok && local != "" {
		_, n := utf8.DecodeRuneInString(local)
		return local[:n] + "***@" + domain
	}
	if len(to) >= 7 {
		return to[:2] + "******" + to[len(to)-2:]
	}
	return "***"
}
