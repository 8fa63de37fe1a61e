package caddyfile_test

import (
	"strings"
	"testing"
)

// TestAdaptErrorsAssertion: a malformed `assertion` option fails adaptation with the line.
func TestAdaptErrorsAssertion(t *testing.T) {
	site := func(body string) string {
		return "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n\t}\n}\n\napp.example.com {\n" + body + "\treverse_proxy localhost:3000\n}\n"
	}
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"argument", site("\tgatehouse_protect {\n\t\tassertion on\n\t}\n"), []string{"assertion takes no arguments", "Caddyfile:9"}},
		{"twice", site("\tgatehouse_protect {\n\t\tassertion\n\t\tassertion\n\t}\n"), []string{"assertion is set twice", "Caddyfile:10"}},
		{"unknown option", site("\tgatehouse_protect {\n\t\tassertion {\n\t\t\talg RS256\n\t\t}\n\t}\n"), []string{`assertion: unknown option "alg"`, "Caddyfile:10"}},
		{"header without name", site("\tgatehouse_protect {\n\t\tassertion {\n\t\t\theader\n\t\t}\n\t}\n"), []string{"header takes exactly one header name", "Caddyfile:10"}},
		{"bad lifetime", site("\tgatehouse_protect {\n\t\tassertion {\n\t\t\tlifetime soon\n\t\t}\n\t}\n"), []string{`lifetime must be a positive duration (e.g. 2m), got "soon"`, "Caddyfile:10"}},
		{"negative lifetime", site("\tgatehouse_protect {\n\t\tassertion {\n\t\t\tlifetime -1m\n\t\t}\n\t}\n"), []string{"lifetime must be a positive duration", "Caddyfile:10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := adapt(t, tt.src)
			if err == nil {
				t.Fatalf("adapted without error; want %q\nJSON: %s", tt.want, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
