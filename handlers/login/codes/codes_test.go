package codes

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

func newEnv(t *testing.T, mod ...func(*idp.Config)) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t, mod...)
	e.Mount(&Handler{Kit: e.Kit, Email: e.P.EmailCode, SMS: e.P.SMSCode, Login: e.P.CodeLogin})
	return e
}

type authResult struct {
	User        struct{ Email string }
	RedirectTo  string `json:"redirect_to"`
	MFARequired bool   `json:"mfa_required"`
}

// CR-06: asking for a code answers the same — 202 {sent, expires_in} and the flow cookie —
// whether or not the address has an account; only the account gets a message.
func TestAPIStartSameForEveryAddress(t *testing.T) {
	e := newEnv(t)
	var bodies []string
	for _, email := range []string{idptest.Alice, "nobody@example.com"} {
		r := e.Browser().PostJSON("/api/v1/login/email-code/start", map[string]string{"email": email})
		if r.StatusCode != http.StatusAccepted || r.Cookie("otp") == nil || r.Cookie("otp").MaxAge != 600 {
			t.Fatalf("%s: %d %s, want 202 and the flow cookie", email, r.StatusCode, r.Body)
		}
		bodies = append(bodies, r.Body)
	}
	if bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"sent":true`) {
		t.Fatalf("answers differ or say nothing was sent: %q vs %q", bodies[0], bodies[1])
	}
	if e.Msgs.Count(idptest.Alice) != 1 || e.Msgs.Count("nobody@example.com") != 0 {
		t.Fatalf("messages: alice %d, nobody %d; want 1 and 0", e.Msgs.Count(idptest.Alice), e.Msgs.Count("nobody@example.com"))
	}
	r := e.Browser().PostJSON("/api/v1/login/sms-code/start", map[string]string{"phone_number": "+15555550100"})
	if r.StatusCode != http.StatusAccepted || r.Body != bodies[0] {
		t.Fatalf("SMS code for an unknown number: %d %s, want the same 202", r.StatusCode, r.Body)
	}
}

// The right code logs in once: 200 with a session and the flow cookie deleted; the same
// code again is refused (single use, CR-10), and a wrong code is 401 invalid_code.
func TestAPIVerify(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.PostJSON("/api/v1/login/email-code/start", map[string]string{"email": idptest.Alice})
	code := e.LastCode(idptest.Alice, portaltest.MsgLoginCode)
	r := b.PostJSON("/api/v1/login/code/verify", map[string]string{"code": idptest.WrongCode(code, 1)})
	if got := r.APIError(t); r.StatusCode != http.StatusUnauthorized || got.Error != "invalid_code" || got.Field != "code" {
		t.Fatalf("wrong code: %d %s, want 401 invalid_code", r.StatusCode, r.Body)
	}
	flow := b.CookieValue("otp")
	r = b.PostJSON("/api/v1/login/code/verify", map[string]string{"code": code, "return_to": "/next"})
	var got authResult
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || got.User.Email != idptest.Alice || got.RedirectTo != "/next" || r.Cookie("session") == nil {
		t.Fatalf("right code: %d %s, want 200 with a session", r.StatusCode, r.Body)
	}
	if c := r.Cookie("otp"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("the flow cookie was not deleted: %v", c)
	}
	b.SetCookie("otp", flow)
	r = b.PostJSON("/api/v1/login/code/verify", map[string]string{"code": code})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "code_expired" || r.Cookie("session") != nil {
		t.Fatalf("replayed code: %d %s, want 400 code_expired", r.StatusCode, r.Body)
	}
}

// CR-11: a code works only in the browser that asked for it; CR-10: and only for its
// lifetime.
func TestAPIVerifyBindingAndExpiry(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.PostJSON("/api/v1/login/email-code/start", map[string]string{"email": idptest.Alice})
	code := e.LastCode(idptest.Alice, portaltest.MsgLoginCode)
	r := e.Browser().PostJSON("/api/v1/login/code/verify", map[string]string{"code": code})
	if r.StatusCode/100 != 4 || r.Cookie("session") != nil {
		t.Fatalf("code in another browser: %d %s, want a refusal", r.StatusCode, r.Body)
	}
	e.Clock.Advance(e.P.Codes.CodeTTL() + time.Second)
	r = b.PostJSON("/api/v1/login/code/verify", map[string]string{"code": code})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "code_expired" || r.Cookie("session") != nil {
		t.Fatalf("expired code: %d %s, want 400 code_expired", r.StatusCode, r.Body)
	}
}

// The pages: ask where to send the code, send it and ask for it (resend link keeps the
// return_to), then log in and go to the return_to.
func TestPages(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	r := b.Get("/login/code?channel=email&return_to=%2Fapp&login_hint=alice%40example.com")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `action="/login/code?channel=email"`) || !strings.Contains(r.Body, idptest.Alice) {
		t.Fatalf("start page: %d\n%s", r.StatusCode, r.Body)
	}
	r = b.PostForm("/login/code?channel=email", url.Values{"email": {idptest.Alice}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusOK || r.Cookie("otp") == nil || !strings.Contains(r.Body, "Enter your code") ||
		!strings.Contains(r.Body, "/login/code?channel=email&amp;return_to=%2Fapp") {
		t.Fatalf("start form: %d\n%s", r.StatusCode, r.Body)
	}
	code := e.LastCode(idptest.Alice, portaltest.MsgLoginCode)
	r = b.PostForm("/login/code/verify?channel=email", url.Values{"code": {idptest.WrongCode(code, 2)}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "The code is incorrect") {
		t.Fatalf("wrong code: %d, want 401 and the message\n%s", r.StatusCode, r.Body)
	}
	r = b.PostForm("/login/code/verify?channel=email", url.Values{"code": {code}, "return_to": {"//evil.test"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/" || r.Cookie("session") == nil {
		t.Fatalf("right code with a foreign return_to: %d %q, want 303 to / and a session", r.StatusCode, r.Location())
	}
}

// Forms without this browser's CSRF token are refused before anything is sent.
func TestFormsNeedCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	r := b.PostForm("/login/code?channel=email", url.Values{"email": {idptest.Alice}, "csrf_token": {"forged"}})
	if r.StatusCode != http.StatusForbidden || r.Cookie("otp") != nil || e.Msgs.Count(idptest.Alice) != 0 {
		t.Fatalf("forged token: %d, want 403 and no code sent", r.StatusCode)
	}
	if r := b.PostForm("/login/code/verify", url.Values{"code": {"123456"}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("verify without token: %d, want 403", r.StatusCode)
	}
}

// A channel the operator did not turn on is 404 method_disabled, page and API.
func TestMethodDisabled(t *testing.T) {
	e := newEnv(t, func(c *idp.Config) { c.Methods = nil })
	b := e.Browser()
	if r := b.Get("/login/code?channel=sms"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "method_disabled") {
		t.Fatalf("disabled SMS page: %d, want 404 method_disabled", r.StatusCode)
	}
	r := b.PostJSON("/api/v1/login/email-code/start", map[string]string{"email": idptest.Alice})
	if got := r.APIError(t); r.StatusCode != http.StatusNotFound || got.Error != "method_disabled" {
		t.Fatalf("disabled email code API: %d %s, want 404 method_disabled", r.StatusCode, r.Body)
	}
}
