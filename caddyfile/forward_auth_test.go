package caddyfile_test

import (
	"strings"
	"testing"
)

// TestForwardAuthAdaptErrors: gatehouse_forward_auth takes gatehouse_protect's options, and a
// mistake names this directive and the line.
func TestForwardAuthAdaptErrors(t *testing.T) {
	const head = "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n\t}\n}\n\n:9091 {\n"
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown option", "\tgatehouse_forward_auth {\n\t\tcolour blue\n\t}\n", []string{`gatehouse_forward_auth: unknown option "colour"`, "Caddyfile:9"}},
		{"argument", "\tgatehouse_forward_auth web\n", []string{`gatehouse_forward_auth: unexpected argument "web"`, "Caddyfile:8"}},
		{"close_on_revoke with a value", "\tgatehouse_forward_auth {\n\t\tclose_on_revoke yes\n\t}\n", []string{"gatehouse_forward_auth: close_on_revoke takes no arguments", "Caddyfile:9"}},
		{"scope without value", "\tgatehouse_forward_auth {\n\t\tscope\n\t}\n", []string{"gatehouse_forward_auth: scope: list at least one scope", "Caddyfile:9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := adapt(t, head+tc.body+"}\n")
			if err == nil {
				t.Fatal("adapted without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
