package module

import (
	"strings"
	"testing"
)

// TestForwardAuthValidate: gatehouse_forward_auth checks gatehouse_protect's options under its
// own name, and refuses close_on_revoke, which cannot apply to a subrequest.
func TestForwardAuthValidate(t *testing.T) {
	f := &ForwardAuth{Protect: Protect{Audience: []string{"web"}, CloseOnRevoke: true}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "gatehouse_forward_auth.close_on_revoke") {
		t.Fatalf("close_on_revoke: %v", err)
	}
	f = &ForwardAuth{Protect: Protect{Audience: []string{"web"}, Scopes: []string{"bad scope\""}}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "gatehouse_forward_auth.scopes") {
		t.Fatalf("bad scope: %v", err)
	}
	if err := (&ForwardAuth{Protect: Protect{Audience: []string{"web"}}}).Validate(); err != nil {
		t.Fatal(err)
	}
}
