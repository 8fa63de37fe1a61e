// Package notify delivers the messages of the passwordless login methods: email (login codes,
// magic links, verification, recovery) and SMS. Senders sit behind two small interfaces; the
// Caddy modules in module/ configure them (gatehouse.email.* and gatehouse.sms.*).
//
// Messages carry secrets (codes, links). A sender never logs a message's body except the
// development outbox, whose whole purpose is to show it.
//
// What is here:
//
//   - SMTP (smtp.go): email through an SMTP server with github.com/wneessen/go-mail —
//     STARTTLS required by default, or implicit TLS; clear text only to a loopback host;
//     AUTH PLAIN/LOGIN only over TLS (or loopback); an optional private CA; retries of
//     transient failures, ErrPermanent for the rest.
//   - Twilio (twilio.go) and Webhook (webhook.go): SMS through Twilio's Messages API or
//     any compatible one, or POSTed as JSON, HMAC-signed (X-Gatehouse-Signature), to an
//     endpoint of yours; VerifyWebhookSignature is the receiver's check.
//   - Outbox (outbox.go): the development sender for both channels — a file and a log line.
//   - Templates (templates.go, templates/<language>/): subjects, text and HTML email, SMS,
//     per kind and language, branded, overridable file by file from a directory.
//   - Queue (queue.go): asynchronous delivery, so that a login request answers at once
//     whether or not a message is sent (no user enumeration through timing), with
//     redacted-recipient logging.
//
// The Caddy modules gatehouse.email.smtp, gatehouse.email.outbox, gatehouse.sms.twilio,
// gatehouse.sms.webhook and gatehouse.sms.outbox (module/senders.go) configure these; the
// login handlers render with Templates and enqueue on a Queue. This package imports no
// Caddy, HTTP handler or store code.
package notify

import (
	"context"
	"errors"
)

// Email is one email message.
type Email struct {
	// To is the recipient's address.
	To string
	// Subject, Text and HTML are the rendered message (HTML optional).
	Subject string
	Text    string
	HTML    string
	// Kind names the message for logs and metrics ("login_code", "magic_link", ...). It is
	// never secret.
	Kind string
}

// SMS is one text message.
type SMS struct {
	// To is the recipient's phone number in E.164 form (+14155550123).
	To   string
	Body string
	// Kind as for Email.
	Kind string
}

// EmailSender delivers email.
type EmailSender interface {
	// SendEmail delivers m or returns why it could not. Implementations retry transient
	// failures themselves within ctx's deadline; an error is final for this attempt.
	SendEmail(ctx context.Context, m Email) error
}

// SMSSender delivers text messages.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// ErrPermanent wraps failures that retrying cannot fix (a refused recipient, bad
// credentials): callers stop retrying.
var ErrPermanent = errors.New("permanent delivery failure")
