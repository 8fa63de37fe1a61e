package portalkit_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// The JSON API's error codes and statuses (docs/auth-api.md) for each error of the identity
// core, wrapped as the core wraps them; Retry-After where the client must wait; and no
// internal error text ever reaches the client.
func TestErrorMapping(t *testing.T) {
	e := portaltest.New(t)
	k := e.Kit
	wrap := func(err error) error { return fmt.Errorf("login: %w", err) }
	for _, c := range []struct {
		err        error
		status     int
		code       string
		retryAfter bool
		passkey    bool
	}{
		{wrap(&input.Error{Field: "email", Message: "not an email address"}), http.StatusBadRequest, "invalid_input", false, false},
		{wrap(&lockout.LockedError{RetryAfter: time.Minute}), http.StatusTooManyRequests, "too_many_attempts", true, false},
		{wrap(pwlogin.ErrInvalidCredentials), http.StatusUnauthorized, "invalid_credentials", false, false},
		{wrap(account.ErrUserDisabled), http.StatusForbidden, "user_disabled", false, false},
		{wrap(account.ErrEmailTaken), http.StatusConflict, "email_taken", false, false},
		{wrap(account.ErrInviteInvalid), http.StatusForbidden, "invite_invalid", false, false},
		{wrap(&otp.SendLimitError{RetryAfter: time.Minute}), http.StatusTooManyRequests, "too_many_requests", true, false},
		{wrap(otp.ErrCodeInvalid), http.StatusUnauthorized, "invalid_code", false, false},
		{wrap(otp.ErrCodeAttempts), http.StatusBadRequest, "code_expired", false, false},
		{wrap(otp.ErrMethodDisabled), http.StatusNotFound, "method_disabled", false, false},
		{wrap(sessions.ErrReauthenticate), http.StatusForbidden, "reauthenticate", false, false},
		{wrap(context.Canceled), web.StatusClientClosedRequest, "unavailable", false, false},
		{errors.New("badger: disk full at /var/lib/secret"), http.StatusServiceUnavailable, "unavailable", false, false},
		// RB-10: a store that cannot be reached is a temporary outage: 503 with Retry-After.
		{wrap(fmt.Errorf("read user: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})), http.StatusServiceUnavailable, "unavailable", true, false},
		{wrap(passkey.ErrPasskeyFailed), http.StatusUnauthorized, "passkey_failed", false, true},
		{wrap(passkey.ErrCeremonyExpired), http.StatusBadRequest, "ceremony_expired", false, true},
		{wrap(passkey.ErrLastCredential), http.StatusConflict, "last_credential", false, true},
		{wrap(otp.ErrCodeInvalid), http.StatusUnauthorized, "invalid_code", false, true},
	} {
		w, r := httptest.NewRecorder(), httptest.NewRequest("POST", "/api/v1/login/password", nil)
		if c.passkey {
			k.PasskeyError(w, r, c.err)
		} else {
			k.APICodeError(w, r, c.err)
		}
		if w.Code != c.status || !strings.Contains(w.Body.String(), `"error":"`+c.code+`"`) {
			t.Errorf("%v: %d %s, want %d %s", c.err, w.Code, w.Body, c.status, c.code)
		}
		if got := w.Header().Get("Retry-After") != ""; got != c.retryAfter {
			t.Errorf("%v: Retry-After %q", c.err, w.Header().Get("Retry-After"))
		}
		if strings.Contains(w.Body.String(), "badger") || strings.Contains(w.Body.String(), "login:") {
			t.Errorf("%v: internal text in the answer %s", c.err, w.Body)
		}
	}
}

// HandleChange refuses a request another site sent (Sec-Fetch-Site: cross-site) with the
// 403 error page before the handler runs; Handle registers without that check.
func TestHandleChangeRefusesCrossSite(t *testing.T) {
	e := portaltest.New(t)
	ran := 0
	e.Kit.Base = "/auth"
	e.Kit.HandleChange(e.Mux, "POST", "/x", func(w http.ResponseWriter, r *http.Request) { ran++ })
	e.Kit.Handle(e.Mux, "POST", "/cb", func(w http.ResponseWriter, r *http.Request) { ran += 10 })
	b := e.Browser()
	b.Header.Set("Sec-Fetch-Site", "cross-site")
	r := b.PostJSON("/auth/x", "{}")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "cross_origin") || ran != 0 {
		t.Fatalf("cross-site POST: %d ran=%d, want 403 cross_origin and the handler not run\n%s", r.StatusCode, ran, r.Body)
	}
	if r := b.PostJSON("/auth/cb", "{}"); r.StatusCode != http.StatusOK || ran != 10 {
		t.Fatalf("cross-site POST to a Handle route: %d ran=%d, want 200", r.StatusCode, ran)
	}
	b.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := b.PostJSON("/auth/x", "{}"); r.StatusCode != http.StatusOK || ran != 11 {
		t.Fatalf("same-origin POST: %d ran=%d, want 200 and the handler run", r.StatusCode, ran)
	}
	if r := b.PostJSON("/x", "{}"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("route outside Base: %d, want 404", r.StatusCode)
	}
}

// Redirect targets stay on the site (PX-19) and keep the portal's Base.
func TestTargets(t *testing.T) {
	k := &portalkit.Kit{Base: "/auth"}
	for target, want := range map[string]string{"/app?x=1": "/app?x=1", "": "/auth/", "https://evil.test/": "/auth/",
		"//evil.test": "/auth/", "/\\evil.test": "/auth/", "/%2F%2Fevil.test": "/auth/"} {
		if got := k.AfterLogin(target); got != want {
			t.Errorf("AfterLogin(%q) = %q, want %q", target, got, want)
		}
	}
	if got := k.LoginURL("/auth/account/password"); got != "/auth/login?return_to=%2Fauth%2Faccount%2Fpassword" {
		t.Errorf("LoginURL = %q", got)
	}
	if got := portalkit.ResendURL("/login/code?channel=sms", "/a b"); got != "/login/code?channel=sms&return_to=%2Fa+b" {
		t.Errorf("ResendURL = %q", got)
	}
	if got := portalkit.Minutes(90 * time.Second); got != "2 minutes" {
		t.Errorf("Minutes(90s) = %q", got)
	}
	if got := portalkit.Minutes(10 * time.Second); got != "1 minute" {
		t.Errorf("Minutes(10s) = %q", got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "de-CH, en;q=0.5")
	if got := portalkit.PreferredLanguage(r); got != "de-CH" {
		t.Errorf("PreferredLanguage = %q", got)
	}
}
