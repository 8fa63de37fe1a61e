package caddyfile_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/module"
)

// TestAdaptSenderErrors: every syntax mistake in the email, sms and branding options is
// refused when adapting, with the option and the line (Caddyfile:<n>) of the mistake. The
// values (clear-text SMTP or webhooks to a remote host, short webhook secrets, colours that
// are not colours) are the validator's: TestValidateCaddyfileValues.
func TestAdaptSenderErrors(t *testing.T) {
	global := func(body string) string {
		return "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n" + body + "\t}\n}\n"
	}
	smtp := func(opts string) string {
		return global("\t\temail {\n\t\t\tsmtp mail.example.com:587 {\n" + opts + "\t\t\t}\n\t\t}\n")
	}
	const from = "\t\t\t\tfrom no-reply@example.com\n"
	twilio := func(opts string) string {
		return global("\t\tsms {\n\t\t\ttwilio {\n" + opts + "\t\t\t}\n\t\t}\n")
	}
	const twilioAuth = "\t\t\t\taccount_sid AC123\n\t\t\t\tauth_token {env.TWILIO_AUTH_TOKEN}\n"
	webhook := func(url, opts string) string {
		return global("\t\tsms {\n\t\t\twebhook " + url + " {\n" + opts + "\t\t\t}\n\t\t}\n")
	}
	const secret = "\t\t\t\tsecret 0123456789abcdef0123456789abcdef\n"
	branding := func(opts string) string {
		return global("\t\tbranding {\n" + opts + "\t\t}\n")
	}
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown option lists email and sms", global("\t\tmail smtp\n"), []string{`unknown option "mail"`, "email, sms", "Caddyfile:4"}},
		{"email without sender", global("\t\temail\n"), []string{"email: give a sender", "Caddyfile:4"}},
		{"email empty block", global("\t\temail {\n\t\t}\n"), []string{"email: give a sender", "Caddyfile:4"}},
		{"email unknown sender", global("\t\temail {\n\t\t\tsendgrid key\n\t\t}\n"), []string{`email: unknown sender "sendgrid"`, "smtp, outbox", "Caddyfile:5"}},
		{"email two senders", global("\t\temail {\n\t\t\toutbox\n\t\t\toutbox /tmp/x\n\t\t}\n"), []string{"second sender", "Caddyfile:6"}},
		{"email twice", global("\t\temail outbox\n\t\temail outbox\n"), []string{"email is set twice", "Caddyfile:5"}},
		{"smtp without host", global("\t\temail {\n\t\t\tsmtp {\n" + from + "\t\t\t}\n\t\t}\n"), []string{"email smtp: expected `smtp <host>", "Caddyfile:5"}},
		{"smtp bad port", global("\t\temail smtp mail.example.com:smtp {\n" + from + "\t\t}\n"), []string{"email smtp", "port", "Caddyfile:4"}},
		{"smtp bad timeout", smtp(from + "\t\t\t\ttimeout soon\n"), []string{`email smtp timeout "soon"`, "Caddyfile:7"}},
		{"smtp option without value", smtp(from + "\t\t\t\tca_file\n"), []string{"ca_file takes exactly one value", "Caddyfile:7"}},
		{"smtp unknown option", smtp(from + "\t\t\t\tstarttls yes\n"), []string{`email smtp: unknown option "starttls"`, "Caddyfile:7"}},
		{"outbox two paths", global("\t\temail outbox /a /b\n"), []string{"email outbox: expected `outbox [<path>]`", "Caddyfile:4"}},
		{"outbox with options", global("\t\tsms outbox {\n\t\t\tpath /a\n\t\t}\n"), []string{"sms outbox takes no options", "Caddyfile:5"}},
		{"sms unknown sender", global("\t\tsms {\n\t\t\tcarrier_pigeon\n\t\t}\n"), []string{`sms: unknown sender "carrier_pigeon"`, "twilio, webhook, outbox", "Caddyfile:5"}},
		{"sms twice", global("\t\tsms outbox\n\t\tsms outbox\n"), []string{"sms is set twice", "Caddyfile:5"}},
		{"twilio with an argument", global("\t\tsms twilio AC123 {\n\t\t}\n"), []string{`sms twilio takes a block, not "AC123"`, "Caddyfile:4"}},
		{"twilio unknown option", twilio(twilioAuth + "\t\t\t\tapi_key k\n"), []string{`sms twilio: unknown option "api_key"`, "Caddyfile:8"}},
		{"webhook without url", global("\t\tsms {\n\t\t\twebhook {\n" + secret + "\t\t\t}\n\t\t}\n"), []string{"sms webhook: expected `webhook <https url>", "Caddyfile:5"}},
		{"webhook unknown option", webhook("https://sms.example.com/send", secret+"\t\t\t\tsignature sha1\n"), []string{`sms webhook: unknown option "signature"`, "Caddyfile:7"}},
		{"branding with an argument", global("\t\tbranding acme {\n\t\t}\n"), []string{`branding takes a block, not "acme"`, "Caddyfile:4"}},
		{"branding colour taken as a comment", branding("\t\t\tcolor #0a84ff\n"), []string{"branding color takes exactly one value", "quote it", "Caddyfile:5"}},
		{"branding unknown option", branding("\t\t\tfont Comic Sans\n"), []string{`branding: unknown option "font"`, "Caddyfile:5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := adapt(t, tt.src)
			if err == nil {
				t.Fatalf("adapted without error; want an error containing %q\nCaddyfile:\n%s\nJSON: %s", tt.want, tt.src, out)
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q\nCaddyfile:\n%s", err, w, tt.src)
				}
			}
		})
	}
}

// TestAdaptedSendersProvision: what the adapter writes for the senders is what the modules
// load — each golden Caddyfile's email and sms JSON provisions and validates as the app
// would load it, with the placeholders resolved from the environment and files, and the
// whole configuration passes the validator.
func TestAdaptedSendersProvision(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SMTP_PASSWORD", "pa55word")
	t.Setenv("SMTP_USER", "apikey")
	t.Setenv("TWILIO_AUTH_TOKEN", "token")
	t.Setenv("SMS_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef")
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, testCAPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "email_sms*.caddyfiletest"))
	if len(files) < 3 {
		t.Fatalf("%d email_sms golden files", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			src, _, _ := strings.Cut(string(data), "\n----------\n")
			src = strings.NewReplacer("/etc/ssl/private-ca.pem", ca, "/run/secrets/smtp-password", secretFile,
				"/run/secrets/sms-webhook", secretFile, "/var/lib/gatehouse", dir, "/etc/gatehouse/templates", dir).Replace(src)
			out, _, err := adapt(t, src)
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Apps struct {
					Gatehouse module.App `json:"gatehouse"`
				} `json:"apps"`
			}
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			app := cfg.Apps.Gatehouse
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			if _, err := ctx.LoadModule(&app.Email, "SenderRaw"); err != nil {
				t.Errorf("email sender: %v", err)
			}
			if _, err := ctx.LoadModule(&app.SMS, "SenderRaw"); err != nil {
				t.Errorf("sms sender: %v", err)
			}
			// And the whole configuration passes the validator that loading it runs.
			if _, err := module.ValidateJSON(out); err != nil {
				t.Errorf("validation: %v", err)
			}
		})
	}
}

// testCAPEM returns a new self-signed CA certificate in PEM form.
func testCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
