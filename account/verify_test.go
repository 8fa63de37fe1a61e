package account_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestOTPAddressChange: CR-11 — codes and links are bound to the address they were sent to:
// once the account's address changed, those sent to the old one do not log in or recover.
func TestOTPAddressChange(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	ip := "192.0.2.13"
	flow, code := e.LoginCode(m, idptest.Alice, ip)
	nonce, err := e.P.MagicLink.Begin(e.Ctx, idptest.Alice, "", "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimPrefix(m.Last(t, idptest.Alice, otp.MsgMagicLink).Vars.Link, idptest.Issuer+"/login/magic#")
	rflow, err := e.P.Recovery.Begin(e.Ctx, idptest.Alice, "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	rcode := m.Last(t, idptest.Alice, otp.MsgRecovery).Vars.Code
	// A change of address needs a fresh login (CR-19): the session's login is from now.
	fresh := store.Session{UserID: e.User.ID, AuthTime: e.Clock.Now()}
	vflow, err := e.P.Verification.StartEmail(e.Ctx, fresh, e.User, "alice.new@example.com", "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Verification.FinishEmail(e.Ctx, e.User, vflow, m.Last(t, "alice.new@example.com", otp.MsgVerifyEmail).Vars.Code, ip); err != nil {
		t.Fatal(err)
	}
	if m.Last(t, idptest.Alice, otp.MsgAccountChanged).Vars.Notice == "" {
		t.Error("no notice to the old address")
	}
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, ip); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("login code to the old address: %v", err)
	}
	if _, err := e.P.MagicLink.Finish(e.Ctx, tok, nonce, false); !errors.Is(err, magiclink.ErrLinkExpired) {
		t.Errorf("link to the old address: %v", err)
	}
	if _, err := e.P.Recovery.Finish(e.Ctx, rflow, rcode, ip); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("recovery code to the old address: %v", err)
	}
	// The new address works.
	flow, code = e.LoginCode(m, "alice.new@example.com", ip)
	if r, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, ip); err != nil || r.User.ID != e.User.ID {
		t.Errorf("login code to the new address: %v", err)
	}
}

// TestOTPVerifyTakenAddress: asking to verify an address or number another account has
// answers like any other (a code is sent there); only who reads the code learns, when
// entering it, that it is taken.
func TestOTPVerifyTakenAddress(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	bob, err := e.P.Accounts.Create(e.Ctx, account.NewUser{Email: "bob@example.com", Password: idptest.UserPassword, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.UpdateUser(e.Ctx, e.User.ID, func(u store.User) (store.User, error) {
		u.PhoneNumber, u.PhoneNumberVerified = "+14155550100", true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	fresh := store.Session{UserID: bob.ID, AuthTime: e.Clock.Now()} // a login from now (CR-19)
	flow, err := e.P.Verification.StartEmail(e.Ctx, fresh, bob, idptest.Alice, "en", "192.0.2.9")
	if err != nil {
		t.Fatalf("start verifying a taken address: %v (want the usual answer)", err)
	}
	code := m.Last(t, idptest.Alice, otp.MsgVerifyEmail).Vars.Code
	if _, err := e.P.Verification.FinishEmail(e.Ctx, bob, flow, code, "192.0.2.9"); !errors.Is(err, account.ErrEmailTaken) {
		t.Errorf("finish verifying a taken address: %v, want ErrEmailTaken", err)
	}
	flow, err = e.P.Verification.StartPhone(e.Ctx, fresh, bob, "+14155550100", "en", "192.0.2.9")
	if err != nil {
		t.Fatalf("start verifying a taken number: %v (want the usual answer)", err)
	}
	code = m.Last(t, "+14155550100", otp.MsgVerifyPhone).Vars.Code
	if _, err := e.P.Verification.FinishPhone(e.Ctx, bob, flow, code, "192.0.2.9"); !errors.Is(err, account.ErrPhoneTaken) {
		t.Errorf("finish verifying a taken number: %v, want ErrPhoneTaken", err)
	}
	// A free number is set, and the account's address is told.
	flow, _ = e.P.Verification.StartPhone(e.Ctx, fresh, bob, "+14155550199", "en", "192.0.2.9")
	code = m.Last(t, "+14155550199", otp.MsgVerifyPhone).Vars.Code
	nb, err := e.P.Verification.FinishPhone(e.Ctx, bob, flow, code, "192.0.2.9")
	if err != nil || nb.PhoneNumber != "+14155550199" || !nb.PhoneNumberVerified {
		t.Fatalf("verify a free number: %+v, %v", nb, err)
	}
	if n := m.Last(t, "bob@example.com", otp.MsgAccountChanged).Vars.Notice; !strings.Contains(n, "+14155550199") {
		t.Errorf("phone change notice %q", n)
	}
}
