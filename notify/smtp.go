package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// TLS modes of an SMTP connection.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS before anything else is
	// said; a server that does not offer STARTTLS is refused (no opportunistic downgrade).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit = "implicit"
	// TLSNone sends in plain text. Only allowed for a loopback host (a local relay).
	TLSNone = "none"
)

// SMTPConfig configures an SMTP sender.
type SMTPConfig struct {
	// Host is the server's name or IP address. Required. With TLS it is also the name the
	// server's certificate must carry.
	Host string
	// Port defaults by TLS mode: 587 (starttls), 465 (implicit), 25 (none).
	Port int
	// Username and Password authenticate (AUTH PLAIN or LOGIN, chosen from what the server
	// offers) when Username is set. Credentials are only sent over TLS, or to a loopback host.
	Username string
	Password string
	// From is the RFC 5322 sender, optionally with a display name:
	// "Acme <no-reply@example.com>". Required.
	From string
	// TLS is TLSStartTLS (default), TLSImplicit or TLSNone.
	TLS string
	// RootCAs verifies the server's certificate instead of the system roots (a private CA).
	RootCAs *x509.CertPool
	// Timeout bounds each connection attempt and each SMTP command (default 10s).
	Timeout time.Duration
	// Attempts is how many times a transient failure is tried in all (default 3).
	Attempts int
	// Backoff is the wait before the first retry, doubled for each further one (default
	// 500ms).
	Backoff time.Duration
}

// withDefaults returns c with the documented defaults filled in.
func (c SMTPConfig) withDefaults() SMTPConfig {
	if strings.HasPrefix(c.Host, "[") && strings.HasSuffix(c.Host, "]") {
		c.Host = c.Host[1 : len(c.Host)-1] // an IPv6 address as written in URLs
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = 465
		case TLSNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 3
	}
	if c.Backoff == 0 {
		c.Backoff = 500 * time.Millisecond
	}
	return c
}

// Validate reports every problem of the configuration at once; each message starts with
// the option it concerns (host, port, from, tls, username, timeout).
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Host == "" {
		errs = append(errs, &OptionError{Option: "host", Msg: "is required (the SMTP server, such as smtp.example.com)"})
	} else if strings.ContainsAny(c.Host, " /:@\r\n") && net.ParseIP(c.Host) == nil {
		errs = append(errs, &OptionError{Option: "host", Msg: fmt.Sprintf("%q is not a host name or IP address (give the port separately)", c.Host)})
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, &OptionError{Option: "port", Msg: fmt.Sprintf("%d is not a TCP port", c.Port)})
	}
	if c.From == "" {
		errs = append(errs, &OptionError{Option: "from", Msg: `is required (such as "Acme <no-reply@example.com>")`})
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, &OptionError{Option: "from", Msg: fmt.Sprintf("%q is not an email address such as \"Acme <no-reply@example.com>\": %v", c.From, err)})
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.Host != "" && !IsLoopback(c.Host) {
			errs = append(errs, &OptionError{Option: "tls", Msg: fmt.Sprintf("none is only allowed for a loopback host, not %q: "+
				"without TLS the login codes, magic links and the SMTP password cross the network in clear text "+
				"(use starttls or implicit)", c.Host)})
		}
	default:
		errs = append(errs, &OptionError{Option: "tls", Msg: fmt.Sprintf("%q: use starttls, implicit or none", c.TLS)})
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, &OptionError{Option: "username", Msg: "is required when a password is set"})
	}
	if c.Timeout < 0 {
		errs = append(errs, &OptionError{Option: "timeout", Msg: "must be positive"})
	}
	if c.Attempts < 0 || c.Backoff < 0 {
		errs = append(errs, &OptionError{Option: "attempts", Msg: "attempts and backoff must be positive"})
	}
	return errors.Join(errs...)
}

// SMTP delivers email through an SMTP server (submission port with STARTTLS by default).
// Each message opens its own connection, so an SMTP is safe for concurrent use.
type SMTP struct {
	cfg    SMTPConfig
	from   *mail.Address
	domain string // of the From address, for Message-ID
	tls    *tls.Config
}

// NewSMTP checks c (see SMTPConfig.Validate) and returns the sender.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	from, _ := mail.ParseAddress(c.From)
	_, domain, _ := strings.Cut(from.Address, "@")
	return &SMTP{
		cfg: c, from: from, domain: domain,
		tls: &tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12},
	}, nil
}

// SendEmail delivers m, retrying transient failures (network errors, 4xx replies) with
// backoff within ctx's deadline. Permanent failures (5xx replies, refused credentials, a
// certificate that does not verify, a server without STARTTLS) wrap ErrPermanent.
func (s *SMTP) SendEmail(ctx context.Context, m Email) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	wait := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err = s.send(ctx, msg)
		if err == nil || errors.Is(err, ErrPermanent) || attempt >= s.cfg.Attempts {
			return err
		}
		if werr := sleep(ctx, wait); werr != nil {
			return fmt.Errorf("%w (gave up retrying: %v)", err, werr)
		}
		wait *= 2
	}
}

// message builds the MIME message: text/plain, or multipart/alternative with text/html.
func (s *SMTP) message(m Email) (*gomail.Msg, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil || strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("%w: recipient is not an email address", ErrPermanent)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(s.from.Name, s.from.Address); err != nil {
		return nil, fmt.Errorf("%w: from: %v", ErrPermanent, err)
	}
	if err := msg.To(to.Address); err != nil {
		return nil, fmt.Errorf("%w: recipient: %v", ErrPermanent, err)
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetMessageIDWithValue(randomHex(16) + "@" + s.domain)
	msg.SetDate()
	// RFC 3834: no vacation replies or other auto-responses to these messages.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// send makes one delivery attempt on a fresh client (go-mail's Client keeps per-dial auth
// state, so one is not shared between concurrent sends).
func (s *SMTP) send(ctx context.Context, msg *gomail.Msg) error {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(s.tls),
	}
	encrypted := true
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		encrypted = false
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
		if encrypted {
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
		} else {
			// Validate allows no TLS only for loopback hosts: nothing crosses a network.
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc))
		}
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("%w: smtp client: %v", ErrPermanent, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return classifySMTP(err)
	}
	return nil
}

// classifySMTP turns go-mail's error into one that says whether retrying can help and names
// no recipient (go-mail's own messages list the recipients; callers log errors).
func classifySMTP(err error) error {
	var (
		sendErr *gomail.SendError
		tpErr   *textproto.Error
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &sendErr):
		code := sendErr.ErrorCode()
		reason := "smtp: " + sendErr.Reason.String()
		if code >= 500 {
			return fmt.Errorf("%w: %s: server replied %d", ErrPermanent, reason, code)
		}
		if code >= 400 {
			return fmt.Errorf("%s: server replied %d (temporary)", reason, code)
		}
		if sendErr.Reason == gomail.ErrNoUnencoded {
			return fmt.Errorf("%w: %s", ErrPermanent, reason)
		}
		return errors.New(reason)
	case errors.As(err, &tpErr):
		msg := fmt.Sprintf("smtp: server replied %d %s", tpErr.Code, oneLine(tpErr.Msg))
		if strings.Contains(err.Error(), "AUTH failed") {
			msg = "smtp: authentication refused: " + strings.TrimPrefix(msg, "smtp: ")
		}
		if tpErr.Code >= 500 {
			return fmt.Errorf("%w: %s", ErrPermanent, msg)
		}
		return errors.New(msg)
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr):
		return fmt.Errorf("%w: smtp: server certificate not trusted (set ca_file for a private CA): %v", ErrPermanent, err)
	case errors.As(err, &recErr):
		return fmt.Errorf("%w: smtp: server did not answer with TLS (check the port and the tls mode): %v", ErrPermanent, err)
	case errors.Is(err, gosmtp.ErrUnencrypted), errors.Is(err, gomail.ErrNoSupportedAuthDiscovered),
		errors.Is(err, gomail.ErrPlainAuthNotSupported), errors.Is(err, gomail.ErrLoginAuthNotSupported),
		strings.Contains(err.Error(), "does not support STARTTLS"),
		strings.Contains(err.Error(), "does not support SMTP AUTH"):
		return fmt.Errorf("%w: smtp: %v", ErrPermanent, err)
	}
	return fmt.Errorf("smtp: %w", err)
}

// IsLoopback reports whether host (a name or IP address, without port) is this machine:
// "localhost", a *.localhost name, or a loopback IP address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oneLine collapses whitespace, including line breaks, to single spaces (header safety).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OptionError is a configuration mistake in one option; Caddy modules and the Caddyfile
// adapter use Option to point at the line at fault.
type OptionError struct {
	// Option is the option's name as written in the JSON and the Caddyfile (snake_case).
	Option string
	// Msg says what is wrong and what to write instead.
	Msg string
}

func (e *OptionError) Error() string { return e.Option + " " + e.Msg }
