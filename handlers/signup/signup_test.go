package signup

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

const newPassword = "a long enough new password"

func newEnv(t *testing.T, mod ...func(*idp.Config)) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t, mod...)
	e.Mount(&Handler{Kit: e.Kit, Signup: e.P.Signup, Passkeys: e.P.Passkey, Verification: e.P.Verification})
	return e
}

// revealing is the sign-up that creates the account at once (email_taken answers a taken
// address) instead of proving the address first.
func revealing(c *idp.Config) { c.SignupRevealsExisting = true }

type authResult struct {
	User struct {
		Email         string
		EmailVerified bool `json:"email_verified"`
	}
	RedirectTo string `json:"redirect_to"`
}

// Sign-up closed: the pages and the API answer 403 signup_closed and create nothing.
func TestClosed(t *testing.T) {
	e := newEnv(t, func(c *idp.Config) { c.SignupMode = idp.SignupClosed })
	b := e.Browser()
	for _, path := range []string{"/signup", "/signup/verify"} {
		if r := b.Get(path); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "signup_closed") {
			t.Fatalf("%s: %d, want 403 signup_closed", path, r.StatusCode)
		}
	}
	r := b.PostJSON("/api/v1/signup", map[string]string{"email": "new@example.com", "password": newPassword})
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "signup_closed" || r.Cookie("session") != nil {
		t.Fatalf("API: %d %s, want 403 signup_closed", r.StatusCode, r.Body)
	}
}

// CR-06: when the address is proven first, sign-up answers the same for a new address and
// for one that has an account (202, verification_required); the new address gets a code,
// the account a notice. The right code then creates the account with its session (201).
func TestAPIVerifiesFirst(t *testing.T) {
	e := newEnv(t)
	var bodies []string
	b := e.Browser()
	for i, email := range []string{idptest.Alice, "new@example.com"} {
		bb := e.Browser()
		if i == 1 {
			bb = b
		}
		r := bb.PostJSON("/api/v1/signup", map[string]string{"email": email, "password": newPassword, "return_to": "/app"})
		if r.StatusCode != http.StatusAccepted || r.Cookie("otp") == nil || r.Cookie("session") != nil {
			t.Fatalf("%s: %d %s, want 202, the flow cookie and no session", email, r.StatusCode, r.Body)
		}
		bodies = append(bodies, r.Body)
	}
	if bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"verification_required":true`) ||
		!strings.Contains(bodies[0], `"redirect_to":"/signup/verify?return_to=%2Fapp"`) {
		t.Fatalf("answers differ: %s vs %s", bodies[0], bodies[1])
	}
	e.Msgs.Last(t, idptest.Alice, "signup_existing")
	code := e.LastCode("new@example.com", portaltest.MsgVerifyEmail)
	r := b.PostJSON("/api/v1/signup/verify", map[string]string{"code": idptest.WrongCode(code, 5)})
	if got := r.APIError(t); r.StatusCode != http.StatusUnauthorized || got.Error != "invalid_code" || r.Cookie("session") != nil {
		t.Fatalf("wrong code: %d %s, want 401 invalid_code", r.StatusCode, r.Body)
	}
	r = b.PostJSON("/api/v1/signup/verify", map[string]string{"code": code, "return_to": "/app"})
	var got authResult
	r.JSON(t, &got)
	if r.StatusCode != http.StatusCreated || got.User.Email != "new@example.com" || !got.User.EmailVerified ||
		got.RedirectTo != "/app" || r.Cookie("session") == nil {
		t.Fatalf("right code: %d %s, want 201, the verified new user and a session", r.StatusCode, r.Body)
	}
	if r := e.Browser().PostJSON("/api/v1/signup/verify", map[string]string{"code": code}); r.StatusCode/100 != 4 || r.Cookie("session") != nil {
		t.Fatalf("the code in another browser: %d, want a refusal", r.StatusCode)
	}
}

// The form version: the sign-up form leads to the code page, the code to the return_to.
func TestFormsVerifyFirst(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	if r := b.Get("/signup?return_to=%2Fapp&invite=abc"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `name="csrf_token"`) {
		t.Fatalf("sign-up page: %d\n%s", r.StatusCode, r.Body)
	}
	r := b.PostForm("/signup", url.Values{"email": {"new@example.com"}, "password": {newPassword}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/signup/verify?return_to=%2Fapp" || r.Cookie("otp") == nil {
		t.Fatalf("sign-up form: %d %q, want 303 to the code page", r.StatusCode, r.Location())
	}
	if r := b.Get(r.Location()); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `action="/signup/verify"`) {
		t.Fatalf("code page: %d\n%s", r.StatusCode, r.Body)
	}
	code := e.LastCode("new@example.com", portaltest.MsgVerifyEmail)
	r = b.PostForm("/signup/verify", url.Values{"code": {code}, "return_to": {"https://evil.test/"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/" || r.Cookie("session") == nil {
		t.Fatalf("code form: %d %q, want 303 to / (the foreign return_to dropped) and a session", r.StatusCode, r.Location())
	}
}

// The sign-up forms need this browser's CSRF token: no account, no code.
func TestFormsNeedCSRFToken(t *testing.T) {
	e := newEnv(t, revealing)
	b := e.Browser()
	r := b.PostForm("/signup", url.Values{"email": {"new@example.com"}, "password": {newPassword}, "csrf_token": {"forged"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "Your form expired") || r.Cookie("session") != nil ||
		e.Msgs.Count("new@example.com") != 0 {
		t.Fatalf("forged token: %d, want 403 and nothing created", r.StatusCode)
	}
	if r := b.PostForm("/signup/verify", url.Values{"code": {"123456"}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("code form without token: %d, want 403", r.StatusCode)
	}
}

// Sign-up that creates the account at once: 201 with a session and the email-verification
// step (the new address is sent a code); a taken address is 409 email_taken; a weak
// password is 400 invalid_input naming the field.
func TestAPICreate(t *testing.T) {
	e := newEnv(t, revealing)
	b := e.Browser()
	r := b.PostJSON("/api/v1/signup", map[string]string{"email": "new@example.com", "password": newPassword, "return_to": "/app"})
	var got authResult
	r.JSON(t, &got)
	if r.StatusCode != http.StatusCreated || got.User.Email != "new@example.com" || got.RedirectTo != "/account/email/verify?return_to=%2Fapp" ||
		r.Cookie("session") == nil || r.Cookie("otp") == nil {
		t.Fatalf("sign-up: %d %s, want 201, a session and the verification step", r.StatusCode, r.Body)
	}
	e.LastCode("new@example.com", portaltest.MsgVerifyEmail)
	r = e.Browser().PostJSON("/api/v1/signup", map[string]string{"email": idptest.Alice, "password": newPassword})
	if got := r.APIError(t); r.StatusCode != http.StatusConflict || got.Error != "email_taken" || got.Field != "email" {
		t.Fatalf("taken address: %d %s, want 409 email_taken", r.StatusCode, r.Body)
	}
	r = e.Browser().PostJSON("/api/v1/signup", map[string]string{"email": "weak@example.com", "password": "short"})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "invalid_input" || got.Field != "password" {
		t.Fatalf("weak password: %d %s, want 400 invalid_input on password", r.StatusCode, r.Body)
	}
	r = e.Browser().PostForm("/signup", url.Values{"email": {idptest.Alice}, "password": {newPassword}})
	if r.StatusCode != http.StatusConflict || r.Cookie("session") != nil {
		t.Fatalf("taken address by form: %d, want 409", r.StatusCode)
	}
}

// Invite-only sign-up: without a valid invitation, 403 invite_invalid.
func TestInviteRequired(t *testing.T) {
	e := newEnv(t, revealing, func(c *idp.Config) { c.SignupMode = idp.SignupInvite })
	r := e.Browser().PostJSON("/api/v1/signup", map[string]string{"email": "new@example.com", "password": newPassword, "invite": "forged"})
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "invite_invalid" || r.Cookie("session") != nil {
		t.Fatalf("forged invite: %d %s, want 403 invite_invalid", r.StatusCode, r.Body)
	}
}

// Sign-up with a passkey: begin answers the WebAuthn options and binds them to the browser;
// a finish that is not a valid answer creates nothing.
func TestPasskeySignup(t *testing.T) {
	e := newEnv(t, revealing)
	b := e.Browser()
	r := b.PostJSON("/api/v1/passkeys/signup/begin", map[string]string{"email": "pk@example.com"})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"challenge"`) || r.Cookie("webauthn") == nil {
		t.Fatalf("begin: %d %s, want 200 with options and the ceremony cookie", r.StatusCode, r.Body)
	}
	r = b.PostJSON("/api/v1/passkeys/signup/finish", `{"credential":{"id":"AAAA","type":"public-key","response":{}}}`)
	if r.StatusCode/100 != 4 || r.Cookie("session") != nil {
		t.Fatalf("bad credential: %d %s, want a 4xx and no session", r.StatusCode, r.Body)
	}
	if _, ok, err := e.P.Accounts.FindByEmail(e.Ctx, "pk@example.com"); ok || err != nil {
		t.Fatalf("after a failed passkey sign-up the account exists (%v) or the lookup failed: %v", ok, err)
	}
}
