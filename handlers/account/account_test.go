package account

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

const newPassword = "a long enough new password"

func newEnv(t *testing.T) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t)
	e.Mount(&Handler{Kit: e.Kit, Accounts: e.P.Accounts, Verification: e.P.Verification, Passkeys: e.P.Passkey, Identities: e.P.Social,
		Apps: e.P.OAuth, UserSessions: e.P.Sessions,
		TOTP: e.P.TOTP, RecoveryCodes: e.P.RecoveryCodes, Factors: e.P.MFA,
		AppCredentials: e.P.AppCredentials})
	return e
}

// Without a session the account pages lead to the login page (coming back where they
// were) and the API answers 401 login_required; nothing changes.
func TestNeedsSession(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	for path, want := range map[string]string{
		"/":                     "/login",
		"/account/password":     "/login?return_to=%2Faccount%2Fpassword",
		"/account/email/verify": "/login?return_to=%2F",
	} {
		if r := b.Get(path); r.StatusCode != http.StatusSeeOther || r.Location() != want {
			t.Errorf("GET %s: %d %q, want 303 to %s", path, r.StatusCode, r.Location(), want)
		}
	}
	for _, path := range []string{"/account/password", "/account/email", "/account/phone/verify", "/account/passkeys/x/delete",
		"/account/identities/unlink", "/account/apps/disconnect"} {
		if r := b.PostForm(path, url.Values{"password": {newPassword}}); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
			t.Errorf("POST %s: %d %q, want 303 to the login page", path, r.StatusCode, r.Location())
		}
	}
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/passkeys"}, {"GET", "/api/v1/account/identities"},
		{"POST", "/api/v1/account/password"}, {"POST", "/api/v1/account/email/start"}, {"POST", "/api/v1/passkeys/register/begin"},
		{"PATCH", "/api/v1/passkeys/x"}, {"DELETE", "/api/v1/passkeys/x"}, {"POST", "/api/v1/account/identities/unlink"},
		{"GET", "/api/v1/account/apps"}, {"DELETE", "/api/v1/account/apps/web"}} {
		r := b.SendJSON(c.method, c.path, map[string]string{})
		if c.method == "GET" {
			r = b.Get(c.path)
		}
		if got := r.APIError(t); r.StatusCode != http.StatusUnauthorized || got.Error != "login_required" {
			t.Errorf("%s %s: %d %s, want 401 login_required", c.method, c.path, r.StatusCode, r.Body)
		}
	}
}

// The account page shows the user and their passkeys.
func TestPage(t *testing.T) {
	e := newEnv(t)
	e.AddPasskey("Work laptop")
	b := e.Browser()
	b.LogIn()
	r := b.Get("/")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Alice Liddell") || !strings.Contains(r.Body, "Work laptop") ||
		!strings.Contains(r.Body, idptest.Alice) {
		t.Fatalf("account page: %d\n%s", r.StatusCode, r.Body)
	}
}

// Changing the password (API): 204 and the new password works; a weak one is 400
// invalid_input; with a login older than sessions.FreshLogin, 403 reauthenticate (CR-19).
func TestChangePasswordAPI(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	r := b.PostJSON("/api/v1/account/password", map[string]string{"password": "short"})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "invalid_input" {
		t.Fatalf("weak password: %d %s, want 400 invalid_input", r.StatusCode, r.Body)
	}
	if r := b.PostJSON("/api/v1/account/password", map[string]string{"password": newPassword}); r.StatusCode != http.StatusNoContent {
		t.Fatalf("change: %d %s, want 204", r.StatusCode, r.Body)
	}
	if _, err := e.P.Password.Login(e.Ctx, idptest.Alice, newPassword, "192.0.2.9"); err != nil {
		t.Fatalf("the new password does not work: %v", err)
	}
	e.Clock.Advance(sessions.FreshLogin + 1)
	r = b.PostJSON("/api/v1/account/password", map[string]string{"password": newPassword + "!"})
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "reauthenticate" {
		t.Fatalf("change with an old login: %d %s, want 403 reauthenticate", r.StatusCode, r.Body)
	}
}

// The password form needs the CSRF token, re-renders with the error, and goes to a local
// return_to only.
func TestPasswordForm(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	if r := b.Get("/account/password?recovered=1"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `name="password"`) {
		t.Fatalf("password page: %d\n%s", r.StatusCode, r.Body)
	}
	if r := b.PostForm("/account/password", url.Values{"password": {newPassword}, "csrf_token": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forged CSRF token: %d, want 403", r.StatusCode)
	}
	if _, err := e.P.Password.Login(e.Ctx, idptest.Alice, idptest.UserPassword, "192.0.2.9"); err != nil {
		t.Fatalf("the refused form changed the password: %v", err)
	}
	if r := b.PostForm("/account/password", url.Values{"password": {"short"}}); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Body, `data-error>`) {
		t.Fatalf("weak password: %d, want 400 with the message", r.StatusCode)
	}
	r := b.PostForm("/account/password", url.Values{"password": {newPassword}, "return_to": {"//evil.test/"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("change: %d %q, want 303 to /", r.StatusCode, r.Location())
	}
}

// Verifying a new email address and a phone number by code (API): the right code from
// this browser updates the account; a wrong one is 401 invalid_code.
func TestVerificationAPI(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	if r := b.PostJSON("/api/v1/account/email/start", map[string]string{"email": "alice2@example.com"}); r.StatusCode != http.StatusAccepted ||
		r.Cookie("otp") == nil {
		t.Fatalf("email start: %d %s, want 202 and the flow cookie", r.StatusCode, r.Body)
	}
	code := e.LastCode("alice2@example.com", portaltest.MsgVerifyEmail)
	r := b.PostJSON("/api/v1/account/email/verify", map[string]string{"code": idptest.WrongCode(code, 6)})
	if got := r.APIError(t); r.StatusCode != http.StatusUnauthorized || got.Error != "invalid_code" {
		t.Fatalf("wrong code: %d %s, want 401 invalid_code", r.StatusCode, r.Body)
	}
	r = b.PostJSON("/api/v1/account/email/verify", map[string]string{"code": code})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"email":"alice2@example.com"`) {
		t.Fatalf("email verify: %d %s, want 200 with the new address", r.StatusCode, r.Body)
	}
	if r := b.PostJSON("/api/v1/account/phone/start", map[string]string{"phone_number": "+15555550123"}); r.StatusCode != http.StatusAccepted {
		t.Fatalf("phone start: %d %s, want 202", r.StatusCode, r.Body)
	}
	code = e.LastCode("+15555550123", portaltest.MsgVerifyPhone)
	r = b.PostJSON("/api/v1/account/phone/verify", map[string]string{"code": code})
	var got struct {
		Phone    string `json:"phone_number"`
		Verified bool   `json:"phone_number_verified"`
	}
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || got.Phone != "+15555550123" || !got.Verified {
		t.Fatalf("phone verify: %d %s, want 200 with the verified number", r.StatusCode, r.Body)
	}
}

// The verification forms: the code page after the start form, the account page with the
// error when the start fails, and back to the account after the right code.
func TestVerificationForms(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	r := b.PostForm("/account/email", url.Values{"email": {"alice3@example.com"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `action="/account/email/verify"`) || r.Cookie("otp") == nil {
		t.Fatalf("email form: %d\n%s", r.StatusCode, r.Body)
	}
	code := e.LastCode("alice3@example.com", portaltest.MsgVerifyEmail)
	if r := b.PostForm("/account/email/verify", url.Values{"code": {code}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("verify without CSRF token: %d, want 403", r.StatusCode)
	}
	r = b.PostForm("/account/email/verify", url.Values{"code": {code}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("verify: %d %q, want 303 to /", r.StatusCode, r.Location())
	}
	e.Clock.Advance(sessions.FreshLogin + 1)
	r = b.PostForm("/account/phone", url.Values{"phone_number": {"+15555550124"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "Log in again") || !strings.Contains(r.Body, "Alice Liddell") {
		t.Fatalf("phone form with an old login: %d, want 400 on the account page\n%s", r.StatusCode, r.Body)
	}
}

// Managing passkeys through the API: list, rename, delete; changing them needs a fresh
// login (CR-19).
func TestPasskeysAPI(t *testing.T) {
	e := newEnv(t)
	id := e.AddPasskey("Laptop")
	b := e.Browser()
	b.LogIn()
	r := b.Get("/api/v1/passkeys")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"id":"`+id+`"`) || !strings.Contains(r.Body, `"type":"synced passkey"`) {
		t.Fatalf("list: %d %s", r.StatusCode, r.Body)
	}
	r = b.SendJSON(http.MethodPatch, "/api/v1/passkeys/"+id, map[string]string{"name": "Phone"})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"name":"Phone"`) {
		t.Fatalf("rename: %d %s", r.StatusCode, r.Body)
	}
	b.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := b.SendJSON(http.MethodDelete, "/api/v1/passkeys/"+id, ""); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site delete: %d, want 403", r.StatusCode)
	}
	b.Header.Del("Sec-Fetch-Site")
	e.Clock.Advance(sessions.FreshLogin + 1)
	r = b.SendJSON(http.MethodDelete, "/api/v1/passkeys/"+id, "")
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "reauthenticate" {
		t.Fatalf("delete with an old login: %d %s, want 403 reauthenticate", r.StatusCode, r.Body)
	}
	b.LogIn()
	if r := b.SendJSON(http.MethodDelete, "/api/v1/passkeys/"+id, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s, want 204", r.StatusCode, r.Body)
	}
	if r := b.Get("/api/v1/passkeys"); r.StatusCode != http.StatusOK || strings.Contains(r.Body, id) {
		t.Fatalf("list after delete: %d %s", r.StatusCode, r.Body)
	}
}

// The passkey forms of the account page (no JavaScript): CSRF token required, back to the
// page after the change.
func TestPasskeyForms(t *testing.T) {
	e := newEnv(t)
	id := e.AddPasskey("Laptop")
	b := e.Browser()
	b.LogIn()
	if r := b.PostForm("/account/passkeys/"+id+"/rename", url.Values{"name": {"Evil"}, "csrf_token": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("rename with a forged CSRF token: %d, want 403", r.StatusCode)
	}
	r := b.PostForm("/account/passkeys/"+id+"/rename", url.Values{"name": {"Desk"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("rename: %d %q, want 303 to /", r.StatusCode, r.Location())
	}
	if r := b.Get("/"); !strings.Contains(r.Body, "Desk") || strings.Contains(r.Body, "Evil") {
		t.Fatalf("account page after rename:\n%s", r.Body)
	}
	r = b.PostForm("/account/passkeys/"+id+"/delete", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d, want 303", r.StatusCode)
	}
}

// Linked identities: the list, and unlinking one that does not exist (404 not_found in
// the API, the account page with the message for the form).
func TestIdentities(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	if r := b.Get("/api/v1/account/identities"); r.StatusCode != http.StatusOK || r.Body != "{\"identities\":[]}\n" {
		t.Fatalf("list: %d %q", r.StatusCode, r.Body)
	}
	r := b.PostJSON("/api/v1/account/identities/unlink", map[string]string{"provider": "gh", "subject": "42"})
	if got := r.APIError(t); r.StatusCode != http.StatusNotFound || got.Error != "not_found" {
		t.Fatalf("unlink unknown: %d %s, want 404 not_found", r.StatusCode, r.Body)
	}
	r = b.PostForm("/account/identities/unlink", url.Values{"provider": {"gh"}, "subject": {"42"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "No such linked identity.") {
		t.Fatalf("unlink form: %d\n%s", r.StatusCode, r.Body)
	}
}

// The page verifying the address after sign-up: a wrong code keeps the explanation, "Send a
// new code" and "Skip for now" (they used to disappear), and "Send a new code" emails a new
// code that then verifies the address (a user who lost the email was stuck).
func TestEmailVerifyPageWrongCodeAndResend(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	email := e.User.Email
	if r := b.PostJSON("/api/v1/account/email/start", map[string]string{"email": ""}); r.StatusCode != http.StatusAccepted {
		t.Fatalf("email start: %d %s", r.StatusCode, r.Body)
	}
	first := e.LastCode(email, portaltest.MsgVerifyEmail)
	page := func(what string, r *portaltest.Response) {
		t.Helper()
		for _, want := range []string{"We emailed", email, "Skip for now", "Send a new code", `action="/account/email"`, `name="skip" value="1"`} {
			if !strings.Contains(r.Body, want) {
				t.Fatalf("%s: page lacks %q:\n%s", what, want, r.Body)
			}
		}
	}
	r := b.Get("/account/email/verify?return_to=%2Fapp")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("verify page: %d", r.StatusCode)
	}
	page("verify page", r)

	r = b.PostForm("/account/email/verify", url.Values{"code": {idptest.WrongCode(first, 6)}, "return_to": {"/app"}, "skip": {"1"}})
	if r.StatusCode == http.StatusSeeOther {
		t.Fatalf("wrong code accepted")
	}
	page("after a wrong code", r)

	r = b.PostForm("/account/email", url.Values{"return_to": {"/app"}, "skip": {"1"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("send a new code: %d\n%s", r.StatusCode, r.Body)
	}
	page("after sending a new code", r)
	second := e.LastCode(email, portaltest.MsgVerifyEmail)
	if e.Msgs.Count(email) < 2 {
		t.Fatalf("no new code was sent")
	}
	r = b.PostForm("/account/email/verify", url.Values{"code": {second}, "return_to": {"/app"}, "skip": {"1"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/app" {
		t.Fatalf("verify with the new code: %d %q, want 303 to /app\n%s", r.StatusCode, r.Location(), r.Body)
	}
}
