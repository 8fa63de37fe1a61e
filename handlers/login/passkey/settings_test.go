package passkey

import (
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
)

// methodOffFailures counts the login.failed events of method whose reason is the method
// being off.
func methodOffFailures(rec *audit.Memory, method string) int {
	n := 0
	for _, e := range rec.Events() {
		if e.Type == audit.LoginFailed && e.Method == method && e.Reason == "this login method is not enabled on this server" {
			n++
		}
	}
	return n
}

// Issue 18: login preferences (enabled methods) "take effect on the next request, without
// a reload". With passkey taken out of login.methods, the passkey login endpoints refuse
// both steps — begin (with an email, and the discoverable kind of browser autofill) and the
// finish of a ceremony begun while the method was on — with 404 method_disabled and a
// login.failed event, and start no session. Passkeys as the second factor stay (login.mfa
// does not depend on the login methods: a user with a passkey must still be able to
// complete a password login). Turning the method back on restores the login.
func TestLoginMethodOffSetting(t *testing.T) {
	rec := &audit.Memory{}
	e := portaltest.New(t, func(c *idp.Config) { c.Audit = rec })
	e.Mount(&Handler{Kit: e.Kit, Passkeys: e.P.Passkey, Pending: e.P.MFA})
	st := e.UseSettings()
	b := e.Browser()

	// A ceremony begun while passkeys are on.
	if r := b.Do(http.MethodPost, "/api/v1/passkeys/login/begin", "", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("begin with passkeys on: %d %s", r.StatusCode, r.Body)
	}
	st.Set(`{"login":{"methods":["password"]}}`)
	r := b.PostJSON("/api/v1/passkeys/login/finish", badCredential)
	if r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" || r.Cookie("session") != nil {
		t.Fatalf("finish once passkey login is off: %d %s, want 404 method_disabled and no session", r.StatusCode, r.Body)
	}
	for _, body := range []any{nil, map[string]string{"email": "alice@example.com"}} {
		var r *portaltest.Response
		if body == nil {
			r = b.Do(http.MethodPost, "/api/v1/passkeys/login/begin", "", nil) // discoverable (autofill)
		} else {
			r = b.PostJSON("/api/v1/passkeys/login/begin", body)
		}
		if r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" || r.Cookie("webauthn") != nil {
			t.Fatalf("begin %v once passkey login is off: %d %s, want 404 method_disabled and no ceremony", body, r.StatusCode, r.Body)
		}
	}
	if n := methodOffFailures(rec, "passkey"); n != 3 {
		t.Fatalf("login.failed events for the refused passkey steps: %d, want 3\n%+v", n, rec.Events())
	}

	// The second factor: a step-up of a password session of a user with a passkey.
	e.AddPasskey("Laptop")
	b.LogIn()
	if r := b.Do(http.MethodPost, "/api/v1/passkeys/mfa/begin", "", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("passkey as second factor with passkey login off: %d %s, want 200", r.StatusCode, r.Body)
	}

	st.Set(`{"login":{"methods":["password","passkey"]}}`)
	if r := b.Do(http.MethodPost, "/api/v1/passkeys/login/begin", "", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("begin once passkey login is back on: %d %s", r.StatusCode, r.Body)
	}
	if r := b.PostJSON("/api/v1/passkeys/login/finish", badCredential); r.StatusCode == http.StatusNotFound {
		t.Fatalf("finish once passkey login is back on: %d %s, want the credential checked", r.StatusCode, r.Body)
	}
}
