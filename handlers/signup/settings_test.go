package signup

import (
	"net/http"
	"testing"
)

// Issue 18: with passkey taken out of login.methods at runtime, signing up with a passkey
// (which logs the new account in with it) is refused at both steps — 404 method_disabled,
// no ceremony, no account, no session — while sign-up with a password still works; turned
// back on, the passkey sign-up begins again.
func TestPasskeySignupOffSetting(t *testing.T) {
	e := newEnv(t, revealing)
	st := e.UseSettings()
	st.Set(`{"login":{"methods":["password","passkey"],"signup":"open"}}`)
	b := e.Browser()
	if r := b.PostJSON("/api/v1/passkeys/signup/begin", map[string]string{"email": "pk@example.com"}); r.StatusCode != http.StatusOK {
		t.Fatalf("begin while on: %d %s", r.StatusCode, r.Body)
	}
	st.Set(`{"login":{"methods":["password"]}}`)
	r := b.PostJSON("/api/v1/passkeys/signup/finish", `{"credential":{"id":"AAAA","type":"public-key","response":{}}}`)
	if r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" || r.Cookie("session") != nil {
		t.Fatalf("finish once passkey is off: %d %s, want 404 method_disabled", r.StatusCode, r.Body)
	}
	r = b.PostJSON("/api/v1/passkeys/signup/begin", map[string]string{"email": "pk2@example.com"})
	if r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" || r.Cookie("webauthn") != nil {
		t.Fatalf("begin once passkey is off: %d %s, want 404 method_disabled", r.StatusCode, r.Body)
	}
	if _, ok, _ := e.P.Accounts.FindByEmail(e.Ctx, "pk2@example.com"); ok {
		t.Fatal("an account was created by a refused passkey sign-up")
	}
	if r := b.PostJSON("/api/v1/signup", map[string]string{"email": "new@example.com", "password": newPassword}); r.StatusCode/100 != 2 {
		t.Fatalf("password sign-up with passkey off: %d %s", r.StatusCode, r.Body)
	}
	st.Set(`{"login":{"methods":["password","passkey"]}}`)
	if r := b.PostJSON("/api/v1/passkeys/signup/begin", map[string]string{"email": "pk3@example.com"}); r.StatusCode != http.StatusOK {
		t.Fatalf("begin once back on: %d %s", r.StatusCode, r.Body)
	}
}
