package input_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/account/input"
)

// TestNormalizeEmail: CR (account confusion) — an email address has one canonical form:
// case-folded, trimmed, NFKC-normalised (a full-width look-alike is the same account);
// display-name forms, comments, several @, whitespace and invisible format characters
// (zero-width space, soft hyphen, bidi override: look-alike accounts) are refused.
func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":    "alice@example.com",
		"Alice@Example.COM":    "alice@example.com",
		"  bob@example.com \t": "bob@example.com",
		"ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ": "alice@example.com",
		"ALICE@EXAMPLE.COM":                "alice@example.com",
		"first.last+tag@sub.example.co.uk": "first.last+tag@sub.example.co.uk",
	} {
		got, err := input.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "alice", "alice@", "@example.com", "alice@localhost", "a@b@example.com",
		"Alice <alice@example.com>", "\"Alice\" <alice@example.com>", "<alice@example.com>",
		"alice@example.com (Alice)", "alice @example.com", "alice@exam ple.com", "alice\n@example.com",
		"alice@example.com\x00", "\"alice\"@example.com", "alice@example.com, bob@example.com",
		strings.Repeat("a", 250) + "@example.com", "alice@example.com\u200b", "ali\u00adce@example.com",
		"alice@\u202eexample.com", "\ufeffalice@example.com",
	} {
		if got, err := input.NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q; want an error", in, got)
		} else {
			var ie *input.Error
			if !errors.As(err, &ie) || ie.Field != "email" {
				t.Errorf("NormalizeEmail(%q): error %v does not name the email field", in, err)
			}
		}
	}
}
