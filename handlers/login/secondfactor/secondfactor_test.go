package secondfactor

import (
	"encoding/base32"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/login/passkey"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

func newEnv(t *testing.T) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t)
	e.Mount(&Handler{Kit: e.Kit, TOTP: e.P.TOTP, Recovery: e.P.RecoveryCodes, Pending: e.P.MFA},
		&passkey.Handler{Kit: e.Kit, Passkeys: e.P.Passkey, Pending: e.P.MFA})
	return e
}

// enrol gives alice an authenticator app; it returns its secret and her recovery codes.
func enrol(t *testing.T, e *portaltest.Env) ([]byte, []string) {
	t.Helper()
	s := e.Session(sessions.Meta{})
	en, err := e.P.TOTP.BeginEnrol(e.Ctx, s, e.User)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(en.Key, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.P.TOTP.ConfirmEnrol(e.Ctx, s, e.User, en.Token, code(t, e, raw, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.P.Sessions.End(e.Ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Minute) // past the confirming code's step
	return raw, codes
}

// code is the code of the step shift steps from now.
func code(t *testing.T, e *portaltest.Env, raw []byte, shift int64) string {
	t.Helper()
	c, err := totp.Code(raw, e.Clock.Now().Unix()/totp.Period+shift)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pending(t *testing.T, e *portaltest.Env, b *portaltest.Browser) {
	t.Helper()
	sec, err := e.P.MFA.StartPending(e.Ctx, e.User, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	b.SetCookie("mfa", sec)
}

// latest returns alice's newest session.
func latest(t *testing.T, e *portaltest.Env) store.Session {
	t.Helper()
	ss, err := e.Store.ListUserSessions(e.Ctx, e.User.ID)
	if err != nil || len(ss) == 0 {
		t.Fatalf("sessions: %v %d", err, len(ss))
	}
	slices.SortFunc(ss, func(a, b store.Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return ss[len(ss)-1]
}

// A user with an authenticator app, after a password, gets the code form (no passkey
// button); a wrong code starts no session, the right one a session with amr pwd otp mfa
// and acr aal2 (RFC 8176 "otp"), and goes to return_to.
func TestTOTPCompletesAPendingLogin(t *testing.T) {
	e := newEnv(t)
	raw, _ := enrol(t, e)
	b := e.Browser()
	pending(t, e, b)
	r := b.Get("/login/mfa?return_to=%2Fapp")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `action="/login/mfa/totp"`) || strings.Contains(r.Body, "data-passkey-button") {
		t.Fatalf("MFA page: %d\n%s", r.StatusCode, r.Body)
	}
	r = b.PostForm("/login/mfa/totp", url.Values{"code": {"000000"}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "wrong or expired") || r.Cookie("session") != nil {
		t.Fatalf("wrong code: %d %v\n%s", r.StatusCode, r.Cookie("session"), r.Body)
	}
	r = b.PostForm("/login/mfa/totp", url.Values{"code": {code(t, e, raw, 0)}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/app" || r.Cookie("session") == nil {
		t.Fatalf("right code: %d %s", r.StatusCode, r.Location())
	}
	s := latest(t, e)
	if strings.Join(s.AMR, " ") != "pwd otp mfa" || s.ACR != "aal2" {
		t.Fatalf("session amr %v acr %s, want [pwd otp mfa] aal2", s.AMR, s.ACR)
	}
	if b.CookieValue("mfa") != "" {
		t.Fatal("the pending login's cookie is still set")
	}
}

// CR-10 / RFC 6238 §5.2: a code accepted once is refused again, even in step-up by the
// same browser; a code two steps old is refused.
func TestCR10_ReusedAndOldCodesAreRefused(t *testing.T) {
	e := newEnv(t)
	raw, _ := enrol(t, e)
	b := e.Browser()
	pending(t, e, b)
	c := code(t, e, raw, 0)
	if r := b.PostForm("/login/mfa/totp", url.Values{"code": {c}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d %s", r.StatusCode, r.Body)
	}
	r := b.PostJSON("/api/v1/mfa/totp", map[string]string{"code": c})
	if r.StatusCode != http.StatusUnauthorized || r.APIError(t).Error != "code_used" {
		t.Fatalf("reused code: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(30 * time.Second)
	r = b.PostJSON("/api/v1/mfa/totp", map[string]string{"code": code(t, e, raw, -2)})
	if r.StatusCode != http.StatusUnauthorized || r.APIError(t).Error != "invalid_code" {
		t.Fatalf("code two steps old: %d %s", r.StatusCode, r.Body)
	}
}

// A recovery code stands in for the app once: amr pwd mfa (no otp), aal2; the same code
// in a second login is refused.
func TestRecoveryCodeWorksOnce(t *testing.T) {
	e := newEnv(t)
	_, codes := enrol(t, e)
	b := e.Browser()
	pending(t, e, b)
	if r := b.Get("/login/mfa"); !strings.Contains(r.Body, `action="/login/mfa/recovery"`) {
		t.Fatalf("MFA page offers no recovery code:\n%s", r.Body)
	}
	r := b.PostForm("/login/mfa/recovery", url.Values{"code": {codes[0]}})
	if r.StatusCode != http.StatusSeeOther || r.Cookie("session") == nil {
		t.Fatalf("recovery code: %d %s", r.StatusCode, r.Body)
	}
	if s := latest(t, e); strings.Join(s.AMR, " ") != "pwd mfa" || s.ACR != "aal2" {
		t.Fatalf("session amr %v acr %s, want [pwd mfa] aal2", s.AMR, s.ACR)
	}
	b2 := e.Browser()
	pending(t, e, b2)
	r = b2.PostForm("/login/mfa/recovery", url.Values{"code": {codes[0]}})
	if r.StatusCode != http.StatusUnauthorized || r.Cookie("session") != nil || !strings.Contains(r.Body, "already used") {
		t.Fatalf("recovery code again: %d\n%s", r.StatusCode, r.Body)
	}
}

// Step-up: an aal1 session confirmed with a code becomes a new aal2 session (PX-25).
func TestPX25_StepUpReplacesTheSession(t *testing.T) {
	e := newEnv(t)
	raw, _ := enrol(t, e)
	b := e.Browser()
	b.LogIn()
	before := latest(t, e)
	r := b.PostJSON("/api/v1/mfa/totp", map[string]string{"code": code(t, e, raw, 0), "return_to": "/x"})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"redirect_to":"/x"`) {
		t.Fatalf("step-up: %d %s", r.StatusCode, r.Body)
	}
	after := latest(t, e)
	if after.ID == before.ID || after.ACR != "aal2" || strings.Join(after.AMR, " ") != "pwd otp mfa" {
		t.Fatalf("step-up session %s %v %s (before %s)", after.ID, after.AMR, after.ACR, before.ID)
	}
	if _, err := e.Store.GetSession(e.Ctx, before.ID); err == nil {
		t.Fatal("the aal1 session survived the step-up")
	}
}

// CR-18: without a pending login or a session there is nothing to confirm; PX-24: a form
// without its CSRF token is refused.
func TestCR18_PX24_NoFirstFactorNoForgedForm(t *testing.T) {
	e := newEnv(t)
	raw, _ := enrol(t, e)
	b := e.Browser()
	r := b.PostForm("/login/mfa/totp", url.Values{"code": {code(t, e, raw, 0)}, "return_to": {"/app"}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login?") || r.Cookie("session") != nil {
		t.Fatalf("code without a first factor: %d %s", r.StatusCode, r.Location())
	}
	if r := b.PostJSON("/api/v1/mfa/recovery", map[string]string{"code": "x"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API without a first factor: %d %s", r.StatusCode, r.Body)
	}
	pending(t, e, b)
	r = b.PostForm("/login/mfa/totp", url.Values{"code": {code(t, e, raw, 0)}, "csrf_token": {""}})
	if r.StatusCode != http.StatusForbidden || r.Cookie("session") != nil {
		t.Fatalf("form without CSRF token: %d", r.StatusCode)
	}
}

// CR-09: past the limit of wrong codes even the right one is refused (429).
func TestCR09_GuessingIsLimited(t *testing.T) {
	e := newEnv(t)
	raw, _ := enrol(t, e)
	b := e.Browser()
	pending(t, e, b)
	for i := range 5 {
		if r := b.PostJSON("/api/v1/mfa/totp", map[string]string{"code": "000000"}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	r := b.PostJSON("/api/v1/mfa/totp", map[string]string{"code": code(t, e, raw, 0)})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Cookie("session") != nil {
		t.Fatalf("right code past the limit: %d %s", r.StatusCode, r.Body)
	}
}
