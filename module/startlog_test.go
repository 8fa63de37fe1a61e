package module

import (
	"strings"
	"testing"
)

// The start-up line names the mail server, never its credentials.
func TestDescribeEmailSenderNamesNoSecret(t *testing.T) {
	got := describeEmailSender(&SMTPEmail{Host: "smtp.example.com", Username: "mailer", Password: "hunter2-secret"})
	if got != "the SMTP server smtp.example.com:587" {
		t.Errorf("describeEmailSender = %q", got)
	}
	if got := describeEmailSender(&SMTPEmail{Host: "mx.example.com", TLS: "implicit"}); !strings.HasSuffix(got, ":465") {
		t.Errorf("implicit TLS: %q", got)
	}
	if got := describeSMSSender(&WebhookSMS{URL: "https://sms.example.com/send?token=abc", Secret: "s3cret"}); got != "the webhook at https://sms.example.com" {
		t.Errorf("describeSMSSender = %q", got)
	}
	if got := describeEmailSender(nil); !strings.Contains(got, "no email sender configured") {
		t.Errorf("no sender: %q", got)
	}
}
