package module_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/module"
	"github.com/gatehouse-dev/gatehouse/notify"
)

func caddyContext(t *testing.T) caddy.Context {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

// provisioner is a sender module as Caddy drives it.
type provisioner interface {
	caddy.Provisioner
	caddy.Validator
}

// load unmarshals cfg into mod, then provisions and validates it as Caddy does.
func load(t *testing.T, mod provisioner, cfg string) error {
	t.Helper()
	if err := json.Unmarshal([]byte(cfg), mod); err != nil {
		t.Fatal(err)
	}
	if err := mod.Provision(caddyContext(t)); err != nil {
		return err
	}
	return mod.Validate()
}

// TestSenderModulesRefuseBadConfig: each mistake is refused at provisioning/validation (so
// `caddy validate` and a reload catch it, not the first login), with the module and the
// option named. Several are security checks: no clear-text SMTP or webhook to a remote host
// (codes and passwords on the wire), no short webhook secret (forgeable signatures).
func TestSenderModulesRefuseBadConfig(t *testing.T) {
	t.Setenv("GH_TEST_SHORT_SECRET", "too-short")
	tests := []struct {
		name string
		mod  provisioner
		cfg  string
		want []string
	}{
		{"smtp tls none to a remote host", &module.SMTPEmail{}, `{"host":"smtp.example.com","tls":"none","from":"a@example.com"}`,
			[]string{"gatehouse.email.smtp", "tls none is only allowed for a loopback host", "clear text"}},
		{"smtp missing from", &module.SMTPEmail{}, `{"host":"smtp.example.com"}`, []string{"gatehouse.email.smtp", "from is required"}},
		{"smtp bad from", &module.SMTPEmail{}, `{"host":"smtp.example.com","from":"no-reply"}`, []string{"gatehouse.email.smtp", "from"}},
		{"smtp unknown tls", &module.SMTPEmail{}, `{"host":"smtp.example.com","from":"a@example.com","tls":"maybe"}`, []string{"tls", "starttls, implicit or none"}},
		{"smtp missing ca_file", &module.SMTPEmail{}, `{"host":"smtp.example.com","from":"a@example.com","ca_file":"/nonexistent/ca.pem"}`, []string{"gatehouse.email.smtp", "ca_file"}},
		{"smtp unset password variable", &module.SMTPEmail{}, `{"host":"smtp.example.com","from":"a@example.com","username":"u","password":"{env.GH_TEST_UNSET_PASSWORD}"}`,
			[]string{"gatehouse.email.smtp", "password"}},
		{"smtp several mistakes at once", &module.SMTPEmail{}, `{"tls":"none"}`, []string{"host is required", "from is required"}},
		{"twilio missing account_sid", &module.TwilioSMS{}, `{"auth_token":"t","from":"+15550100000"}`, []string{"gatehouse.sms.twilio", "account_sid is required"}},
		{"twilio missing from", &module.TwilioSMS{}, `{"account_sid":"AC1","auth_token":"t"}`, []string{"gatehouse.sms.twilio", "from or messaging_service_sid"}},
		{"twilio from and service", &module.TwilioSMS{}, `{"account_sid":"AC1","auth_token":"t","from":"+15550100000","messaging_service_sid":"MG1"}`, []string{"exclude each other"}},
		{"twilio http base_url", &module.TwilioSMS{}, `{"account_sid":"AC1","auth_token":"t","from":"+15550100000","base_url":"http://twilio.example.com"}`, []string{"base_url", "https"}},
		{"webhook http to a remote host", &module.WebhookSMS{}, `{"url":"http://sms.example.com/send","secret":"0123456789abcdef0123456789abcdef"}`,
			[]string{"gatehouse.sms.webhook", "url", "must use https"}},
		{"webhook short secret", &module.WebhookSMS{}, `{"url":"https://sms.example.com/send","secret":"hunter2"}`, []string{"gatehouse.sms.webhook", "secret must be at least 32 bytes"}},
		{"webhook short secret from the environment", &module.WebhookSMS{}, `{"url":"https://sms.example.com/send","secret":"{env.GH_TEST_SHORT_SECRET}"}`, []string{"secret must be at least 32 bytes"}},
		{"webhook missing url", &module.WebhookSMS{}, `{"secret":"0123456789abcdef0123456789abcdef"}`, []string{"url is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := load(t, tt.mod, tt.cfg)
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
}

// TestSenderModulesResolvePlaceholders: secrets come from the environment or a file
// ({env.*}, {file.*}) when provisioned, so they need not be in the Caddyfile or the JSON.
func TestSenderModulesResolvePlaceholders(t *testing.T) {
	t.Setenv("GH_TEST_SMTP_PASSWORD", "pa55word")
	t.Setenv("GH_TEST_SMTP_HOST", "127.0.0.1")
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &module.SMTPEmail{}
	if err := load(t, s, `{"host":"{env.GH_TEST_SMTP_HOST}","tls":"none","username":"u","password":"{env.GH_TEST_SMTP_PASSWORD}","from":"Acme <a@example.com>"}`); err != nil {
		t.Fatal(err)
	}
	if s.Password != "pa55word" || s.Host != "127.0.0.1" {
		t.Errorf("password %q host %q, want the environment's values", s.Password, s.Host)
	}
	w := &module.WebhookSMS{}
	if err := load(t, w, `{"url":"https://sms.example.com/send","secret":"{file.`+secretFile+`}"}`); err != nil {
		t.Fatal(err)
	}
	if w.Secret != "0123456789abcdef0123456789abcdef" {
		t.Errorf("secret %q, want the file's content without the newline", w.Secret)
	}
	tw := &module.TwilioSMS{}
	t.Setenv("GH_TEST_TWILIO_TOKEN", "tok")
	if err := load(t, tw, `{"account_sid":"AC1","auth_token":"{env.GH_TEST_TWILIO_TOKEN}","from":"+15550100000"}`); err != nil {
		t.Fatal(err)
	}
	if tw.AuthToken != "tok" {
		t.Errorf("auth token %q", tw.AuthToken)
	}
}

// TestSenderModulesLoadFromJSON: the app's email and sms options load the modules by their
// inline "sender" key (as the Caddyfile adapter writes them), and the outbox writes by
// default to gatehouse/outbox.txt in Caddy's data directory, the email and SMS outboxes
// sharing the file.
func TestSenderModulesLoadFromJSON(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	ctx := caddyContext(t)
	email := module.EmailConfig{SenderRaw: json.RawMessage(`{"sender":"smtp","host":"localhost","tls":"none","from":"a@example.com"}`)}
	mod, err := ctx.LoadModule(&email, "SenderRaw")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mod.(*module.SMTPEmail); !ok {
		t.Fatalf("email sender %T", mod)
	}
	for raw, want := range map[string]string{
		`{"sender":"twilio","account_sid":"AC1","auth_token":"t","messaging_service_sid":"MG1"}`:             "*module.TwilioSMS",
		`{"sender":"webhook","url":"https://sms.example.com/x","secret":"0123456789abcdef0123456789abcdef"}`: "*module.WebhookSMS",
		`{"sender":"outbox"}`: "*module.OutboxSMS",
	} {
		sms := module.SMSConfig{SenderRaw: json.RawMessage(raw)}
		mod, err := ctx.LoadModule(&sms, "SenderRaw")
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := typeName(mod); got != want {
			t.Errorf("%s: %s, want %s", raw, got, want)
		}
	}
	bad := module.SMSConfig{SenderRaw: json.RawMessage(`{"sender":"webhook","url":"http://sms.example.com"}`)}
	if _, err := ctx.LoadModule(&bad, "SenderRaw"); err == nil || !strings.Contains(err.Error(), "gatehouse.sms.webhook") {
		t.Errorf("bad sender: %v", err)
	}

	emod, err := ctx.LoadModuleByID("gatehouse.email.outbox", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := emod.(notify.EmailSender).SendEmail(context.Background(), notify.Email{To: "a@example.com", Subject: "s", Text: "code 424242", Kind: "login_code"}); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(caddy.AppDataDir(), "gatehouse", "outbox.txt")
	if want != module.DefaultOutboxPath() {
		t.Errorf("DefaultOutboxPath = %s, want %s", module.DefaultOutboxPath(), want)
	}
	data, err := os.ReadFile(want)
	if err != nil || !strings.Contains(string(data), "code 424242") {
		t.Fatalf("default outbox %s: %v\n%s", want, err, data)
	}
	fi, _ := os.Stat(want)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("outbox mode %v", fi.Mode())
	}
	smod, err := ctx.LoadModuleByID("gatehouse.sms.outbox", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := smod.(notify.SMSSender).SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "515151 is your code"}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(want)
	if !strings.Contains(string(data), "515151") {
		t.Errorf("the SMS outbox does not share the default file")
	}
}

// TestBrandingValidate: a hostile or mistaken branding value is refused with the option
// named (the colour goes into inline CSS, the logo into every HTML email).
func TestBrandingValidate(t *testing.T) {
	for _, tt := range []struct{ branding, want string }{
		{`{"color":"red;background:url(x)"}`, "gatehouse.branding.color: must be a hex colour"},
		{`{"logo_url":"http://cdn.example.com/logo.png"}`, "gatehouse.branding.logo_url: must use https"},
		{`{"logo_url":"javascript:alert(1)"}`, "gatehouse.branding.logo_url: must be an absolute https URL"},
		{`{"logo_url":"{env.GH_TEST_LOGO}"}`, "gatehouse.branding.logo_url: must be an absolute https URL"},
		{`{"templates":"` + filepath.Join(t.TempDir(), "missing") + `"}`, "gatehouse.branding.templates: must be an existing directory"},
		{`{"templates":"{env.GH_TEST_UNSET_TEMPLATES}"}`, "gatehouse.branding.templates: must resolve to a value, got nothing from {env.GH_TEST_UNSET_TEMPLATES}"},
	} {
		errs, _ := checkApp(t, `{"issuer":"https://login.example.com","branding":`+tt.branding+`}`)
		if !containsLine(errs, tt.want) {
			t.Errorf("branding %s: errors %q, want one starting %q", tt.branding, errs, tt.want)
		}
	}
	good := `{"issuer":"https://login.example.com","branding":{"product_name":"Acme","color":"#0a84ff",` +
		`"logo_url":"https://cdn.example.com/logo.png","templates":"` + t.TempDir() + `"}}`
	if errs, _ := checkApp(t, good); len(errs) > 0 {
		t.Fatal(errs)
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *module.TwilioSMS:
		return "*module.TwilioSMS"
	case *module.WebhookSMS:
		return "*module.WebhookSMS"
	case *module.OutboxSMS:
		return "*module.OutboxSMS"
	}
	return "other"
}
