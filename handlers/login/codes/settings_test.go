package codes

import (
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Issue 18: login preferences (enabled methods) "take effect on the next request, without
// a reload". A code method taken out of login.methods refuses a code already sent (the
// verify step: 404 method_disabled, no session) and sends no new one (the start step, API
// and form alike: no message), each a login.failed event with the reason; turned back on,
// the method logs in again. Both channels: email and SMS.
func TestCodeMethodOffSetting(t *testing.T) {
	const phone = "+15555550123"
	rec := &audit.Memory{}
	e := newEnv(t, func(c *idp.Config) { c.Audit = rec })
	if _, err := e.Store.UpdateUser(e.Ctx, e.User.ID, func(u store.User) (store.User, error) {
		u.PhoneNumber, u.PhoneNumberVerified = phone, true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	st := e.UseSettings()
	for _, c := range []struct {
		method, amr, start, field, to, on, off string
	}{
		{"email_code", "email_otp", "/api/v1/login/email-code/start", "email", idptest.Alice,
			`{"login":{"methods":["password","email_code"]}}`, `{"login":{"methods":["password","sms_code"]}}`},
		{"sms_code", "sms_otp", "/api/v1/login/sms-code/start", "phone_number", phone,
			`{"login":{"methods":["password","sms_code"]}}`, `{"login":{"methods":["password","email_code"]}}`},
	} {
		st.Set(c.on)
		b := e.Browser()
		if r := b.PostJSON(c.start, map[string]string{c.field: c.to}); r.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: start while on: %d %s", c.method, r.StatusCode, r.Body)
		}
		code := e.LastCode(c.to, portaltest.MsgLoginCode)
		sent := e.Msgs.Count(c.to)
		failed := methodOffFailures(rec, c.amr)

		st.Set(c.off)
		r := b.PostJSON("/api/v1/login/code/verify", map[string]string{"code": code})
		if r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" || r.Cookie("session") != nil {
			t.Fatalf("%s: a code sent before the method was turned off: %d %s, want 404 method_disabled and no session", c.method, r.StatusCode, r.Body)
		}
		if r := b.PostJSON(c.start, map[string]string{c.field: c.to}); r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" {
			t.Fatalf("%s: start once off: %d %s, want 404 method_disabled", c.method, r.StatusCode, r.Body)
		}
		channel := map[string]string{"email_code": "email", "sms_code": "sms"}[c.method]
		if r := b.PostForm("/login/code?channel="+channel, map[string][]string{c.field: {c.to}, "channel": {channel}}); r.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: the start form once off: %d, want 404", c.method, r.StatusCode)
		}
		if n := e.Msgs.Count(c.to); n != sent {
			t.Fatalf("%s: %d messages sent while the method was off", c.method, n-sent)
		}
		if n := methodOffFailures(rec, c.amr) - failed; n != 3 {
			t.Fatalf("%s: %d login.failed events with the method-off reason, want 3 (verify, API start, form start)\n%+v", c.method, n, rec.Events())
		}

		st.Set(c.on)
		if r := b.PostJSON(c.start, map[string]string{c.field: c.to}); r.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: start once back on: %d %s", c.method, r.StatusCode, r.Body)
		}
		r = b.PostJSON("/api/v1/login/code/verify", map[string]string{"code": e.LastCode(c.to, portaltest.MsgLoginCode)})
		if r.StatusCode != http.StatusOK || r.Cookie("session") == nil {
			t.Fatalf("%s: login once back on: %d %s, want 200 and a session", c.method, r.StatusCode, r.Body)
		}
	}
}

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
