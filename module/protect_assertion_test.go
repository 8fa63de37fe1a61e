package module

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// TestProtectAssertionValidate: the assertion's header and lifetime are checked when the
// configuration loads, the error naming the option and saying what to change.
func TestProtectAssertionValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Protect
		want string // "" = valid
	}{
		{"defaults", Protect{Assertion: &AssertionConfig{}}, ""},
		{"custom", Protect{Assertion: &AssertionConfig{Header: "X-My-Name", Lifetime: caddy.Duration(2 * time.Minute)}}, ""},
		{"bad header", Protect{Assertion: &AssertionConfig{Header: "X My"}}, `gatehouse_protect.assertion.header: must be a header name of letters, digits and '-', got "X My"`},
		{"header also injected", Protect{Headers: map[string]string{"x-my-name": "{gatehouse.user.id}"}, Assertion: &AssertionConfig{Header: "X-My-Name"}},
			"gatehouse_protect.assertion.header: names the header"},
		{"too short", Protect{Assertion: &AssertionConfig{Lifetime: caddy.Duration(time.Millisecond)}}, "gatehouse_protect.assertion.lifetime: must be at least 1s"},
		{"too long", Protect{Assertion: &AssertionConfig{Lifetime: caddy.Duration(time.Hour)}}, "gatehouse_protect.assertion.lifetime: must be at most 10m"},
		{"negative", Protect{Assertion: &AssertionConfig{Lifetime: caddy.Duration(-time.Second)}}, "gatehouse_protect.assertion.lifetime: must be a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}
