package module_test

import (
	"testing"
)

// Issue 18: the audit trail is "kept in the store with a retention (`audit { retain 90d
// }`)". A retention of 0 or less would keep nothing an administrator could look at: the JSON
// configuration is refused with a message naming audit.retain, like the Caddyfile's.
func TestValidateAuditRetain(t *testing.T) {
	for _, c := range []struct {
		retain string
		ok     bool
	}{{`"90d"`, true}, {`31536000000000000`, true}, {`0`, false}, {`"-1h"`, false}} {
		errs, _ := checkApp(t, `{"issuer":"https://login.example.com","audit":{"retain":`+c.retain+`}}`)
		if got := containsLine(errs, "gatehouse.audit.retain: must be a positive duration"); got == c.ok {
			t.Errorf("retain %s: errors %q", c.retain, errs)
		}
	}
	if errs, _ := checkApp(t, `{"issuer":"https://login.example.com","audit":{}}`); len(errs) != 0 {
		t.Errorf("audit without retain (the default, 90d): %q", errs)
	}
}
