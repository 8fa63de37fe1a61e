package caddyfile_test

import (
	"strings"
	"testing"
)

// TestAdaptRequireErrors: a require expression or shorthand that cannot be evaluated fails
// at load with CEL's message and the Caddyfile line: an unknown variable or claim, a type
// error, bad syntax, and an expression whose estimated cost exceeds the limit.
func TestAdaptRequireErrors(t *testing.T) {
	site := func(line string) string {
		return "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n\t}\n}\n\napp.example.com {\n" +
			"\tgatehouse_protect {\n\t\t" + line + "\n\t}\n\treverse_proxy localhost:3000\n}\n"
	}
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"unknown variable", `require "admin" in claim.roles`, []string{"undeclared reference to 'claim'", "Caddyfile:9"}},
		{"unknown claim", `require "admin" in claims.rolez`, []string{"claims.rolez is not known", "Caddyfile:9"}},
		{"unknown request field", `require request.url == "/"`, []string{"request.url is not known", "Caddyfile:9"}},
		{"type error", `require request.method == 1`, []string{"no matching overload", "Caddyfile:9"}},
		{"not a condition", `require request.path`, []string{"must be true or false", "Caddyfile:9"}},
		{"bad syntax", `require "admin" in claims.roles &&`, []string{"Syntax error", "Caddyfile:9"}},
		{"cost too high", "require `claims.roles.exists(a, claims.permissions.exists(b, claims.groups.exists(c, a == b && b == c)))`",
			[]string{"more than the limit", "Caddyfile:9"}},
		{"empty require", `require`, []string{"require takes a CEL expression", "Caddyfile:9"}},
		{"empty role", `role`, []string{"role: list at least one role", "Caddyfile:9"}},
		{"empty permission", `permission`, []string{"permission: list at least one", "Caddyfile:9"}},
		{"two organizations", `organization acme globex`, []string{"organization takes exactly one", "Caddyfile:9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := adapt(t, site(tc.line))
			if err == nil {
				t.Fatalf("%q adapted without error", tc.line)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
