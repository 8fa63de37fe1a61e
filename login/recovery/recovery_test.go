package recovery_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestOTPRecoveryCodesRevoked: CR-31 — a recovery code asked for before the password changed,
// or before a recovery by the other channel finished, no longer works; a recovery ends every
// session of the account and revokes its refresh tokens.
func TestOTPRecoveryCodesRevoked(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	const phone = "+14155550100"
	if _, err := e.Store.UpdateUser(e.Ctx, e.User.ID, func(u store.User) (store.User, error) {
		u.PhoneNumber, u.PhoneNumberVerified = phone, true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	ip := "192.0.2.10"
	recoveryCode := func(id string, sms bool) (string, string) {
		t.Helper()
		flow, err := e.P.Recovery.Begin(e.Ctx, id, "en", ip)
		if err != nil {
			t.Fatal(err)
		}
		return flow, m.Last(t, id, otp.MsgRecovery).Vars.Code
	}

	// Password change.
	flow, code := recoveryCode(idptest.Alice, false)
	sflow, scode := recoveryCode(phone, true)
	s := e.Session(sessions.Meta{})
	if err := e.P.Accounts.ChangePassword(e.Ctx, s, "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{flow, code}, {sflow, scode}} {
		if _, err := e.P.Recovery.Finish(e.Ctx, c[0], c[1], ip); !errors.Is(err, otp.ErrCodeExpired) {
			t.Errorf("recovery code from before the password change: %v", err)
		}
	}

	// Recovery by SMS, with an email code pending; sessions and refresh tokens end.
	resp, old := e.Tokens("openid", "offline_access")
	flow, code = recoveryCode(idptest.Alice, false)
	sflow, scode = recoveryCode(phone, true)
	r, err := e.P.Recovery.Finish(e.Ctx, sflow, scode, ip)
	if err != nil || r.User.ID != e.User.ID || r.AMR[0] != login.AMRSMS {
		t.Fatalf("recovery by SMS: %v %v", r.AMR, err)
	}
	if _, err := e.P.Recovery.Finish(e.Ctx, flow, code, ip); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("email recovery code after the SMS recovery: %v", err)
	}
	if _, err := e.Store.GetSession(e.Ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session survived the recovery: %v", err)
	}
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken}); oerr == nil || oerr.Kind != oauth.InvalidGrant {
		t.Errorf("refresh token after recovery: %v", oerr)
	}
	// A fresh recovery code still works.
	flow, code = recoveryCode(idptest.Alice, false)
	if _, err := e.P.Recovery.Finish(e.Ctx, flow, code, ip); err != nil {
		t.Errorf("a new recovery code: %v", err)
	}
}

// TestOTPRecoveryRemovesPassword: after a recovery code is used, the old password no longer
// logs in, even before a new one is set.
func TestOTPRecoveryRemovesPassword(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	flow, err := e.P.Recovery.Begin(e.Ctx, idptest.Alice, "en", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Recovery.Finish(e.Ctx, flow, m.Last(t, idptest.Alice, otp.MsgRecovery).Vars.Code, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.GetPassword(e.Ctx, e.User.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old password survived recovery (%v)", err)
	}
}

// Destination names where a live recovery flow's code went, so that the page of a recovery
// link can show whose account it recovers; it uses nothing up. An unknown, expired or used
// flow, and a flow of another purpose, is otp.ErrCodeExpired; a flow for an address without
// an account answers like one for an account (CR-06: the answer must not tell which
// addresses have one).
func TestRecoveryDestination(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	ip := "192.0.2.11"
	flow, err := e.P.Recovery.Begin(e.Ctx, idptest.Alice, "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	code := m.Last(t, idptest.Alice, otp.MsgRecovery).Vars.Code
	for range 2 {
		if got, err := e.P.Recovery.Destination(e.Ctx, flow); err != nil || got != idptest.Alice {
			t.Fatalf("Destination = %q, %v; want %s", got, err, idptest.Alice)
		}
	}
	unknown, err := e.P.Recovery.Begin(e.Ctx, "nobody@example.com", "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.P.Recovery.Destination(e.Ctx, unknown); err != nil || got != "nobody@example.com" {
		t.Errorf("unknown address: %q, %v; want it named like a known one", got, err)
	}
	loginFlow, _ := e.LoginCode(m, idptest.Alice, ip)
	for name, f := range map[string]string{"empty": "", "made up": "not-a-flow", "login code": loginFlow} {
		if _, err := e.P.Recovery.Destination(e.Ctx, f); !errors.Is(err, otp.ErrCodeExpired) {
			t.Errorf("%s: %v, want ErrCodeExpired", name, err)
		}
	}
	if _, err := e.P.Recovery.Finish(e.Ctx, flow, code, ip); err != nil {
		t.Fatalf("Destination used the code up: %v", err)
	}
	if _, err := e.P.Recovery.Destination(e.Ctx, flow); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("used flow: %v, want ErrCodeExpired", err)
	}
	e.Clock.Advance(e.P.Codes.CodeTTL())
	if _, err := e.P.Recovery.Destination(e.Ctx, unknown); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("expired flow: %v, want ErrCodeExpired", err)
	}
}
