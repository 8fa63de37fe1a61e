package notify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Outbox is the development sender: it appends every message, email and SMS alike, to a
// human-readable file and logs it, body included, at INFO level, so that a quickstart with no
// mail server shows the login code in Caddy's log. Never use it in production: it writes
// secrets (codes, magic links) to the log by design.
//
// The file and its directory are created on first use with modes 0600 and 0700. Each message
// is one block:
//
//	=== 2026-01-02T15:04:05Z email login_code
//	To: alice@example.com
//	Subject: Your Gatehouse code
//
//	123456 is your code ...
//
// An Outbox is safe for concurrent use, and several Outboxes (the email and the SMS one) may
// share a file: each block is written with one append.
type Outbox struct {
	// Path is the file messages are appended to. Empty: messages are only logged.
	Path string
	// Logger receives one INFO line per message (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu sync.Mutex
}

// SendEmail appends m to the outbox.
func (o *Outbox) SendEmail(ctx context.Context, m Email) error {
	var b strings.Builder
	fmt.Fprintf(&b, "To: %s\nSubject: %s\n\n%s\n", oneLine(m.To), oneLine(m.Subject), strings.TrimRight(m.Text, "\n"))
	if m.HTML != "" {
		fmt.Fprintf(&b, "\n(an HTML alternative of %d bytes was sent too)\n", len(m.HTML))
	}
	return o.deliver(ctx, "email", m.Kind, m.To, b.String(), m.Subject, m.Text)
}

// SendSMS appends m to the outbox.
func (o *Outbox) SendSMS(ctx context.Context, m SMS) error {
	b := fmt.Sprintf("To: %s\n\n%s\n", oneLine(m.To), strings.TrimRight(m.Body, "\n"))
	return o.deliver(ctx, "sms", m.Kind, m.To, b, "", m.Body)
}

func (o *Outbox) deliver(_ context.Context, channel, kind, to, block, subject, body string) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if kind == "" {
		kind = "message"
	}
	block = fmt.Sprintf("=== %s %s %s\n%s\n", now().UTC().Format(time.RFC3339), channel, oneLine(kind), block)
	if o.Path != "" {
		if err := o.append(block); err != nil {
			return err
		}
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []any{"channel", channel, "kind", kind, "to", to}
	if subject != "" {
		attrs = append(attrs, "subject", subject)
	}
	attrs = append(attrs, "body", body)
	if o.Path != "" {
		attrs = append(attrs, "outbox", o.Path)
	}
	logger.Info("gatehouse outbox (development sender: messages are not delivered)", attrs...)
	return nil
}

func (o *Outbox) append(block string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	_, err = f.WriteString(block)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}
