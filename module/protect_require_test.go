package module

import (
	"strings"
	"testing"
)

// TestProtectRequireValidate: in JSON configuration too, a requirement that does not compile
// is refused at load, naming its index and CEL's message.
func TestProtectRequireValidate(t *testing.T) {
	p := &Protect{Audience: []string{"api"}, Require: []Require{
		{Roles: []string{"admin"}},
		{Expression: `"x" in claims.rolez`},
		{Expression: `request.method == 1`},
		{Roles: []string{"a"}, Organization: "acme"},
	}}
	err := p.Validate()
	if err == nil {
		t.Fatal("invalid requirements accepted")
	}
	for _, want := range []string{"gatehouse_protect.require[1]", "claims.rolez is not known",
		"gatehouse_protect.require[2]", "no matching overload", "gatehouse_protect.require[3]", "exactly one"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "require[0]") {
		t.Errorf("a valid requirement reported: %v", err)
	}
}
