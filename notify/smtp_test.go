package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// renderLoginCode renders the built-in login_code email for to with code.
func renderLoginCode(t testing.TB, to, code string) notify.Email {
	t.Helper()
	tmpl, err := notify.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tmpl.Email(notify.KindLoginCode, notify.MessageData{ProductName: "Acme", Email: to, Code: code, ExpiresIn: "10 minutes", Color: "#112233"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newSMTP(t testing.TB, c notify.SMTPConfig) *notify.SMTP {
	t.Helper()
	s, err := notify.NewSMTP(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSMTPDeliversToMailDev: a login-code email goes through a real SMTP server (MailDev)
// as a multipart text+HTML message with the configured From (display name and address),
// the recipient, the subject, the code in both parts, and Message-ID, Date and
// Auto-Submitted headers. Plain SMTP is allowed here only because the host is loopback.
func TestSMTPDeliversToMailDev(t *testing.T) {
	t.Parallel()
	md := startMailDev(t)
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, TLS: notify.TLSNone, From: "Acme Login <no-reply@acme.example>"})
	m := renderLoginCode(t, "alice@example.com", "493817")
	if err := s.SendEmail(context.Background(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := md.waitEmails(t, 1)[0]
	if len(got.To) != 1 || got.To[0].Address != "alice@example.com" {
		t.Errorf("to = %+v, want alice@example.com", got.To)
	}
	if len(got.From) != 1 || got.From[0].Address != "no-reply@acme.example" || got.From[0].Name != "Acme Login" {
		t.Errorf("from = %+v, want Acme Login <no-reply@acme.example>", got.From)
	}
	if got.Subject != "Your Acme sign-in code" {
		t.Errorf("subject = %q", got.Subject)
	}
	if !strings.Contains(got.Text, "493817") || !strings.Contains(got.HTML, "493817") {
		t.Errorf("the code is missing from the text or HTML part:\ntext: %s\nhtml: %s", got.Text, got.HTML)
	}
	if !strings.Contains(got.HTML, "#112233") {
		t.Errorf("the HTML part lost the brand colour")
	}
	msgID, _ := got.Headers["message-id"].(string)
	if !strings.HasPrefix(msgID, "<") || !strings.HasSuffix(msgID, "@acme.example>") {
		t.Errorf("Message-ID = %q, want <...@acme.example>", msgID)
	}
	if _, ok := got.Headers["date"]; !ok {
		t.Errorf("no Date header: %v", got.Headers)
	}
	if v, _ := got.Headers["auto-submitted"].(string); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated (RFC 3834)", v)
	}
	if ct, _ := got.Headers["content-type"].(string); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
}

// TestSMTPStartTLSIsRequired: in the default starttls mode a server that does not offer
// STARTTLS (MailDev never does) gets nothing — no fallback to clear text that an attacker on
// the path could force by stripping the STARTTLS capability — and the failure is permanent.
func TestSMTPStartTLSIsRequired(t *testing.T) {
	t.Parallel()
	md := startMailDev(t)
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, From: "no-reply@acme.example", Backoff: time.Second})
	start := time.Now()
	err := s.SendEmail(context.Background(), renderLoginCode(t, "bob@example.com", "111111"))
	t.Logf("no STARTTLS: %v", err)
	if !errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a permanent STARTTLS error", err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Errorf("a permanent failure was retried (took %s)", time.Since(start))
	}
	if n := len(md.emails(t)); n != 0 {
		t.Fatalf("MailDev received %d messages in clear text", n)
	}
}

// TestSMTPAuth: with MailDev requiring AUTH, the right password delivers and a wrong one is
// a permanent failure (535) that is not retried — retrying bad credentials only risks a
// lockout at the provider. Credentials go in clear text here only because the host is
// loopback (AUTH PLAIN/LOGIN without TLS is refused anywhere else).
func TestSMTPAuth(t *testing.T) {
	t.Parallel()
	md := startMailDev(t, "--incoming-user", "gatehouse", "--incoming-pass", "s3cret")
	good := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, TLS: notify.TLSNone,
		Username: "gatehouse", Password: "s3cret", From: "no-reply@acme.example"})
	if err := good.SendEmail(context.Background(), renderLoginCode(t, "carol@example.com", "222222")); err != nil {
		t.Fatalf("send with the right password: %v", err)
	}
	md.waitEmails(t, 1)

	bad := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, TLS: notify.TLSNone,
		Username: "gatehouse", Password: "wrong", From: "no-reply@acme.example", Backoff: time.Second})
	start := time.Now()
	err := bad.SendEmail(context.Background(), renderLoginCode(t, "carol@example.com", "333333"))
	t.Logf("wrong password: %v", err)
	if !errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "authentication refused") {
		t.Fatalf("wrong password: err = %v, want a permanent authentication error", err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Errorf("refused credentials were retried (took %s)", time.Since(start))
	}

	anon := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, TLS: notify.TLSNone, From: "no-reply@acme.example"})
	if err := anon.SendEmail(context.Background(), renderLoginCode(t, "carol@example.com", "444444")); !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("no credentials: err = %v, want a permanent failure (530 authentication required)", err)
	}
	if n := len(md.emails(t)); n != 1 {
		t.Fatalf("MailDev holds %d messages, want only the authenticated one", n)
	}
}

// TestSMTPImplicitTLS: SMTPS (TLS from the first byte) to MailDev with a certificate from a
// private CA works when the CA is trusted (ca_file), with AUTH over the encrypted connection;
// without the CA the certificate is refused, permanently, and nothing is sent.
func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	cert := newTestCert(t)
	md := startMailDev(t, "--incoming-secure", "--incoming-cert", cert.CertFile, "--incoming-key", cert.KeyFile,
		"--incoming-user", "gatehouse", "--incoming-pass", "s3cret")
	for _, host := range []string{"127.0.0.1", "localhost"} {
		s := newSMTP(t, notify.SMTPConfig{Host: host, Port: md.SMTPPort, TLS: notify.TLSImplicit, RootCAs: cert.Pool,
			Username: "gatehouse", Password: "s3cret", From: "Acme <no-reply@acme.example>"})
		if err := s.SendEmail(context.Background(), renderLoginCode(t, "dave@example.com", "555555")); err != nil {
			t.Fatalf("implicit TLS to %s with the private CA: %v", host, err)
		}
	}
	got := md.waitEmails(t, 2)
	if !strings.Contains(got[0].Text, "555555") {
		t.Errorf("text = %q", got[0].Text)
	}

	// Implicit TLS against a plain-text server: the TLS handshake fails, nothing is sent.
	plain := startMailDev(t)
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: plain.SMTPPort, TLS: notify.TLSImplicit, RootCAs: cert.Pool,
		From: "no-reply@acme.example", Timeout: 2 * time.Second, Attempts: 1})
	if err := s.SendEmail(context.Background(), renderLoginCode(t, "dave@example.com", "777777")); err == nil {
		t.Fatal("implicit TLS to a plain-text server succeeded")
	}
	if n := len(plain.emails(t)); n != 0 {
		t.Fatalf("the plain-text server received %d messages", n)
	}
	// Last, since MailDev exits when a client aborts the handshake: without the CA the
	// server's certificate is refused, permanently.
	untrusted := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, TLS: notify.TLSImplicit,
		Username: "gatehouse", Password: "s3cret", From: "no-reply@acme.example"})
	err := untrusted.SendEmail(context.Background(), renderLoginCode(t, "dave@example.com", "666666"))
	t.Logf("untrusted: %v", err)
	if !errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: err = %v, want a permanent certificate error", err)
	}
}

// TestSMTPStartTLS: STARTTLS and AUTH PLAIN over it, against nodemailer's smtp-server (the
// real server library MailDev is built on; MailDev itself hides STARTTLS). The server sees a
// secure session and the authenticated user; without the private CA the upgrade fails
// permanently before any credential or message is sent.
func TestSMTPStartTLS(t *testing.T) {
	t.Parallel()
	cert := newTestCert(t)
	port, msgs := startTLSServer(t, cert)
	s := newSMTP(t, notify.SMTPConfig{Host: "localhost", Port: port, RootCAs: cert.Pool,
		Username: "gatehouse", Password: "s3cret", From: "Acme <no-reply@acme.example>"})
	if err := s.SendEmail(context.Background(), renderLoginCode(t, "erin@example.com", "888888")); err != nil {
		t.Fatalf("STARTTLS send: %v", err)
	}
	select {
	case m := <-msgs:
		if !m.Secure || m.User == nil || *m.User != "gatehouse" {
			t.Errorf("session secure=%v user=%v, want a TLS session authenticated as gatehouse", m.Secure, m.User)
		}
		if m.From != "no-reply@acme.example" || len(m.To) != 1 || m.To[0] != "erin@example.com" {
			t.Errorf("envelope from=%q to=%v", m.From, m.To)
		}
		if !strings.Contains(m.Data, "888888") || !strings.Contains(m.Data, "Message-ID: <") {
			t.Errorf("message data lacks the code or Message-ID:\n%s", m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the STARTTLS server received nothing")
	}

	wrong := newSMTP(t, notify.SMTPConfig{Host: "localhost", Port: port, RootCAs: cert.Pool,
		Username: "gatehouse", Password: "nope", From: "no-reply@acme.example"})
	if err := wrong.SendEmail(context.Background(), renderLoginCode(t, "erin@example.com", "999999")); !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("wrong password over STARTTLS: err = %v, want permanent", err)
	}
	untrusted := newSMTP(t, notify.SMTPConfig{Host: "localhost", Port: port,
		Username: "gatehouse", Password: "s3cret", From: "no-reply@acme.example"})
	err := untrusted.SendEmail(context.Background(), renderLoginCode(t, "erin@example.com", "000000"))
	t.Logf("untrusted: %v", err)
	if !errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: err = %v, want a permanent certificate error", err)
	}
	select {
	case m := <-msgs:
		t.Fatalf("a message was delivered after a failure: %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestSMTPTransientFailureIsRetried: a connection refused (the server is down) is retried
// with backoff, then reported as a transient failure — not ErrPermanent — so the caller may
// try again later.
func TestSMTPTransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	port := freePort(t) // nothing listens there
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: notify.TLSNone, From: "no-reply@acme.example",
		Backoff: 100 * time.Millisecond})
	start := time.Now()
	err := s.SendEmail(context.Background(), renderLoginCode(t, "frank@example.com", "121212"))
	if err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	// 3 attempts: waits of 100ms and 200ms between them.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("took %s, want the two backoff waits (>= 300ms)", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := s.SendEmail(ctx, renderLoginCode(t, "frank@example.com", "121212")); err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("retries went on past the context's deadline (%s)", d)
	}
}

// TestSMTPConfigValidation: mistakes are refused when the sender is built, each message
// naming the option; plain SMTP to a non-loopback host is refused with the reason.
func TestSMTPConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  notify.SMTPConfig
		want []string
	}{
		{"tls none to a remote host", notify.SMTPConfig{Host: "smtp.example.com", TLS: "none", From: "a@example.com"}, []string{"tls", "loopback", "clear text"}},
		{"unknown tls mode", notify.SMTPConfig{Host: "smtp.example.com", TLS: "opportunistic", From: "a@example.com"}, []string{"tls", "starttls, implicit or none"}},
		{"missing from", notify.SMTPConfig{Host: "smtp.example.com"}, []string{"from is required"}},
		{"bad from", notify.SMTPConfig{Host: "smtp.example.com", From: "Acme no-reply"}, []string{"from", "not an email address"}},
		{"missing host", notify.SMTPConfig{From: "a@example.com"}, []string{"host is required"}},
		{"host with port", notify.SMTPConfig{Host: "smtp.example.com:587", From: "a@example.com"}, []string{"host", "port separately"}},
		{"password without username", notify.SMTPConfig{Host: "smtp.example.com", From: "a@example.com", Password: "x"}, []string{"username is required"}},
		{"bad port", notify.SMTPConfig{Host: "smtp.example.com", From: "a@example.com", Port: 70000}, []string{"port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.NewSMTP(tt.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.53", "mail.localhost"} {
		if _, err := notify.NewSMTP(notify.SMTPConfig{Host: host, TLS: "none", From: "a@example.com"}); err != nil {
			t.Errorf("tls none to loopback host %s refused: %v", host, err)
		}
	}
}

// BenchmarkSMTPDelivery measures the time from a login handler's request (enqueueing on the
// Queue, as the handlers do) to the message being accepted by MailDev over SMTP, one message
// at a time: ms/msg is that latency. msgs/s is the throughput of 4 workers on a burst of 64.
// Most of the latency is the server's: smtp-server, under MailDev, holds its greeting for
// 100 ms to catch clients that talk too early (an anti-spam pause that production MTAs also
// make), so one connection per message costs at least that.
func BenchmarkSMTPDelivery(b *testing.B) {
	md := startMailDev(b)
	s := newSMTP(b, notify.SMTPConfig{Host: "127.0.0.1", Port: md.SMTPPort, TLS: notify.TLSNone, From: "Acme <no-reply@acme.example>"})
	m := renderLoginCode(b, "bench@example.com", "135790")
	sent := make(chan time.Duration, 1024)
	q := notify.NewQueue(s, nil, nil, notify.QueueOptions{Workers: 4, OnSent: func(_ string, d time.Duration) { sent <- d }})
	defer q.Close(context.Background())
	var (
		total time.Duration
		n     int
	)
	for b.Loop() {
		if err := q.Email(m); err != nil {
			b.Fatal(err)
		}
		total += <-sent
		n++
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/msg")

	const burst = 64
	start := time.Now()
	for range burst {
		if err := q.Email(m); err != nil {
			b.Fatal(err)
		}
	}
	for range burst {
		<-sent
	}
	b.ReportMetric(burst/time.Since(start).Seconds(), "msgs/s")
}
