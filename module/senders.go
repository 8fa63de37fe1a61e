package module

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// The sender modules: gatehouse.email.* deliver email, gatehouse.sms.* text messages. Each
// resolves {env.*} and {file.*} placeholders in its options when provisioned (an unset
// variable or unreadable file is an error, never an empty password), and Validate reports
// every mistake at once, naming the module and the option.

func init() {
	caddy.RegisterModule(SMTPEmail{})
	caddy.RegisterModule(OutboxEmail{})
	caddy.RegisterModule(TwilioSMS{})
	caddy.RegisterModule(WebhookSMS{})
	caddy.RegisterModule(OutboxSMS{})
}

// SMTPEmail sends email through an SMTP server (gatehouse.email.smtp).
type SMTPEmail struct {
	// Host is the SMTP server's name or IP address. Required.
	Host string `json:"host,omitempty"`
	// Port defaults by TLS mode: 587 (starttls), 465 (implicit), 25 (none).
	Port int `json:"port,omitempty"`
	// Username and Password authenticate with AUTH PLAIN or LOGIN (whichever the server
	// offers), only over TLS or to a loopback host. Use a placeholder for the password:
	// {env.SMTP_PASSWORD} or {file./run/secrets/smtp}.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// From is the sender, with an optional display name: "Acme <no-reply@example.com>".
	// Required.
	From string `json:"from,omitempty"`
	// TLS is "starttls" (default: plain connection upgraded with STARTTLS, which the server
	// must offer), "implicit" (TLS from the first byte, SMTPS on port 465) or "none" (only
	// for a relay on a loopback host).
	TLS string `json:"tls,omitempty"`
	// CAFile is a PEM file of the CA certificates that verify the server instead of the
	// system roots (a private CA).
	CAFile string `json:"ca_file,omitempty"`
	// Timeout bounds each connection attempt and SMTP command (default 10s). Transient
	// failures are tried 3 times with backoff; permanent ones (5xx, refused credentials) once.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	roots  *x509.CertPool
	sender *notify.SMTP
}

// CaddyModule returns the Caddy module information.
func (SMTPEmail) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.email.smtp", New: func() caddy.Module { return new(SMTPEmail) }}
}

// Provision resolves placeholders and loads the CA file.
func (s *SMTPEmail) Provision(caddy.Context) error {
	if err := resolve(caddy.NewReplacer(), "gatehouse.email.smtp", s.placeholders()); err != nil {
		return err
	}
	if s.CAFile != "" {
		roots, err := loadRoots(s.CAFile)
		if err != nil {
			return fmt.Errorf("gatehouse.email.smtp: ca_file: %w", err)
		}
		s.roots = roots
	}
	return nil
}

// placeholders returns the options resolved at provisioning, by name.
func (s *SMTPEmail) placeholders() map[string]*string {
	return map[string]*string{"host": &s.Host, "username": &s.Username, "password": &s.Password, "from": &s.From,
		"tls": &s.TLS, "ca_file": &s.CAFile}
}

func (s *SMTPEmail) config() notify.SMTPConfig {
	return notify.SMTPConfig{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, From: s.From,
		TLS: s.TLS, RootCAs: s.roots, Timeout: time.Duration(s.Timeout)}
}

// Validate checks the configuration (placeholders resolved) and builds the sender.
func (s *SMTPEmail) Validate() error {
	if err := validateModule(s, "gatehouse.email.smtp"); err != nil {
		return err
	}
	sender, err := notify.NewSMTP(s.config())
	if err != nil {
		return fmt.Errorf("gatehouse.email.smtp: %w", err)
	}
	s.sender = sender
	return nil
}

// SendEmail implements notify.EmailSender.
func (s *SMTPEmail) SendEmail(ctx context.Context, m notify.Email) error {
	if s.sender == nil {
		return errors.New("gatehouse.email.smtp: not provisioned")
	}
	return s.sender.SendEmail(ctx, m)
}

// OutboxEmail is the development email sender (gatehouse.email.outbox): messages are not
// delivered but appended to a file and logged with their body, so the login code shows in
// Caddy's log. Never use it in production.
type OutboxEmail struct {
	// Path is the outbox file (default: gatehouse/outbox.txt in Caddy's data directory,
	// such as ~/.local/share/caddy/gatehouse/outbox.txt). It is created with mode 0600.
	Path string `json:"path,omitempty"`

	outbox *notify.Outbox
}

// CaddyModule returns the Caddy module information.
func (OutboxEmail) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.email.outbox", New: func() caddy.Module { return new(OutboxEmail) }}
}

// Provision resolves the path and sets up the outbox (the file is created on first use).
func (o *OutboxEmail) Provision(ctx caddy.Context) error {
	var err error
	o.outbox, err = provisionOutbox(ctx, "gatehouse.email.outbox", &o.Path)
	return err
}

// SendEmail implements notify.EmailSender.
func (o *OutboxEmail) SendEmail(ctx context.Context, m notify.Email) error {
	return o.outbox.SendEmail(ctx, m)
}

// OutboxSMS is the development SMS sender (gatehouse.sms.outbox), as OutboxEmail.
type OutboxSMS struct {
	// Path is the outbox file (default: the same file as the email outbox).
	Path string `json:"path,omitempty"`

	outbox *notify.Outbox
}

// CaddyModule returns the Caddy module information.
func (OutboxSMS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.sms.outbox", New: func() caddy.Module { return new(OutboxSMS) }}
}

// Provision resolves the path and sets up the outbox.
func (o *OutboxSMS) Provision(ctx caddy.Context) error {
	var err error
	o.outbox, err = provisionOutbox(ctx, "gatehouse.sms.outbox", &o.Path)
	return err
}

// SendSMS implements notify.SMSSender.
func (o *OutboxSMS) SendSMS(ctx context.Context, m notify.SMS) error {
	return o.outbox.SendSMS(ctx, m)
}

// DefaultOutboxPath is where the outbox senders write by default.
func DefaultOutboxPath() string {
	return filepath.Join(caddy.AppDataDir(), "gatehouse", "outbox.txt")
}

func provisionOutbox(ctx caddy.Context, id string, path *string) (*notify.Outbox, error) {
	if err := resolve(caddy.NewReplacer(), id, map[string]*string{"path": path}); err != nil {
		return nil, err
	}
	if *path == "" {
		*path = DefaultOutboxPath()
	}
	abs, err := filepath.Abs(*path)
	if err != nil {
		return nil, fmt.Errorf("%s: path %q: %w", id, *path, err)
	}
	*path = abs
	return &notify.Outbox{Path: abs, Logger: ctx.Slogger()}, nil
}

// TwilioSMS sends text messages through Twilio's Messages API, or any service that copies it
// (gatehouse.sms.twilio).
type TwilioSMS struct {
	// AccountSID (AC...) and AuthToken authenticate. Required; use a placeholder for the
	// token: {env.TWILIO_AUTH_TOKEN}.
	AccountSID string `json:"account_sid,omitempty"`
	AuthToken  string `json:"auth_token,omitempty"`
	// From is the sending number in E.164 form (+15550100) or an alphanumeric sender ID;
	// MessagingServiceSID (MG...) sends through a messaging service instead. Exactly one.
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	// BaseURL is the API's origin (default https://api.twilio.com).
	BaseURL string `json:"base_url,omitempty"`
	// Timeout bounds each request (default 10s). 429 and 5xx replies are retried (3 attempts
	// in all, honouring Retry-After up to 10s); other 4xx replies are permanent.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	sender *notify.Twilio
}

// CaddyModule returns the Caddy module information.
func (TwilioSMS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.sms.twilio", New: func() caddy.Module { return new(TwilioSMS) }}
}

// Provision resolves placeholders.
func (t *TwilioSMS) Provision(caddy.Context) error {
	return resolve(caddy.NewReplacer(), "gatehouse.sms.twilio", t.placeholders())
}

// placeholders returns the options resolved at provisioning, by name.
func (t *TwilioSMS) placeholders() map[string]*string {
	return map[string]*string{"account_sid": &t.AccountSID, "auth_token": &t.AuthToken, "from": &t.From,
		"messaging_service_sid": &t.MessagingServiceSID, "base_url": &t.BaseURL}
}

func (t *TwilioSMS) config() notify.TwilioConfig {
	return notify.TwilioConfig{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From,
		MessagingServiceSID: t.MessagingServiceSID, BaseURL: t.BaseURL,
		HTTPOptions: notify.HTTPOptions{Timeout: time.Duration(t.Timeout)}}
}

// Validate checks the configuration (placeholders resolved) and builds the sender.
func (t *TwilioSMS) Validate() error {
	if err := validateModule(t, "gatehouse.sms.twilio"); err != nil {
		return err
	}
	sender, err := notify.NewTwilio(t.config())
	if err != nil {
		return fmt.Errorf("gatehouse.sms.twilio: %w", err)
	}
	t.sender = sender
	return nil
}

// SendSMS implements notify.SMSSender.
func (t *TwilioSMS) SendSMS(ctx context.Context, m notify.SMS) error {
	if t.sender == nil {
		return errors.New("gatehouse.sms.twilio: not provisioned")
	}
	return t.sender.SendSMS(ctx, m)
}

// WebhookSMS POSTs text messages, signed, to an endpoint of yours that sends them with any
// SMS provider (gatehouse.sms.webhook). See notify.Webhook for the request and
// notify.VerifyWebhookSignature for checking it.
type WebhookSMS struct {
	// URL is the endpoint: https, or http on a loopback host. Required.
	URL string `json:"url,omitempty"`
	// Secret signs the requests (X-Gatehouse-Signature, HMAC-SHA256); at least 32 bytes.
	// Required; use a placeholder: {env.SMS_WEBHOOK_SECRET}.
	Secret string `json:"secret,omitempty"`
	// Timeout bounds each request (default 10s); retries as for Twilio.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	sender *notify.Webhook
}

// CaddyModule returns the Caddy module information.
func (WebhookSMS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gatehouse.sms.webhook", New: func() caddy.Module { return new(WebhookSMS) }}
}

// Provision resolves placeholders.
func (w *WebhookSMS) Provision(caddy.Context) error {
	return resolve(caddy.NewReplacer(), "gatehouse.sms.webhook", w.placeholders())
}

// placeholders returns the options resolved at provisioning, by name.
func (w *WebhookSMS) placeholders() map[string]*string {
	return map[string]*string{"url": &w.URL, "secret": &w.Secret}
}

func (w *WebhookSMS) config() notify.WebhookConfig {
	return notify.WebhookConfig{URL: w.URL, Secret: []byte(w.Secret), HTTPOptions: notify.HTTPOptions{Timeout: time.Duration(w.Timeout)}}
}

// Validate checks the configuration (placeholders resolved) and builds the sender.
func (w *WebhookSMS) Validate() error {
	if err := validateModule(w, "gatehouse.sms.webhook"); err != nil {
		return err
	}
	sender, err := notify.NewWebhook(w.config())
	if err != nil {
		return fmt.Errorf("gatehouse.sms.webhook: %w", err)
	}
	w.sender = sender
	return nil
}

// SendSMS implements notify.SMSSender.
func (w *WebhookSMS) SendSMS(ctx context.Context, m notify.SMS) error {
	if w.sender == nil {
		return errors.New("gatehouse.sms.webhook: not provisioned")
	}
	return w.sender.SendSMS(ctx, m)
}

// resolve replaces the placeholders in the named fields; an unknown placeholder, an unset
// environment variable or an unreadable file is an error naming the option.
func resolve(repl *caddy.Replacer, id string, fields map[string]*string) error {
	var errs []error
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := fields[name]
		if !strings.Contains(*v, "{") {
			continue
		}
		out, err := repl.ReplaceOrErr(*v, true, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w (an unset environment variable or unreadable file?)", id, name, err))
			continue
		}
		*v = out
	}
	return errors.Join(errs...)
}

// Interface guards.
var (
	_ caddy.Provisioner  = (*SMTPEmail)(nil)
	_ caddy.Validator    = (*SMTPEmail)(nil)
	_ notify.EmailSender = (*SMTPEmail)(nil)
	_ caddy.Provisioner  = (*OutboxEmail)(nil)
	_ notify.EmailSender = (*OutboxEmail)(nil)
	_ caddy.Provisioner  = (*TwilioSMS)(nil)
	_ caddy.Validator    = (*TwilioSMS)(nil)
	_ notify.SMSSender   = (*TwilioSMS)(nil)
	_ caddy.Provisioner  = (*WebhookSMS)(nil)
	_ caddy.Validator    = (*WebhookSMS)(nil)
	_ notify.SMSSender   = (*WebhookSMS)(nil)
	_ caddy.Provisioner  = (*OutboxSMS)(nil)
	_ notify.SMSSender   = (*OutboxSMS)(nil)
)
