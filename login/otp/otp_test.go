package otp_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Unit tests of the one-time code machinery shared by the email/SMS code, magic link and
// recovery methods, driven through those methods on a Badger store with a fake clock
// (internal/idptest), so that lifetimes and lockout windows are crossed exactly. The
// magic-link, recovery and address-verification rules are tested in their own packages;
// the end-to-end tests (e2e/codes_test.go) run the same rules through Caddy, a real SMTP
// server and a Twilio-shaped API.

// TestOTPCodeLifetime: CR-10 — a code works until its 10 minutes are up and not at the
// tenth minute; a configured lifetime above 10 minutes is cut to 10.
func TestOTPCodeLifetime(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			e, m := idptest.NewWithMessenger(t, func(c *idp.Config) { c.CodeTTL = ttl })
			flow, code := e.LoginCode(m, idptest.Alice, "192.0.2.1")
			if got := m.Last(t, idptest.Alice, otp.MsgLoginCode).Vars.ExpiresIn; got != 10*time.Minute {
				t.Errorf("message says %v, want 10m", got)
			}
			e.Clock.Advance(10*time.Minute - time.Second)
			if r, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.1"); err != nil || r.AMR[0] != login.AMREmailCode {
				t.Fatalf("at 9:59: %v %v", r.AMR, err)
			}
			flow, code = e.LoginCode(m, idptest.Alice, "192.0.2.1")
			e.Clock.Advance(10 * time.Minute)
			if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.1"); !errors.Is(err, otp.ErrCodeExpired) {
				t.Fatalf("at 10:00: %v, want ErrCodeExpired", err)
			}
		})
	}
}

// TestOTPAttemptLimits: CR-09 — 5 wrong codes end a challenge; 10 per account across
// challenges lock its codes until the lockout window ends; a right code resets the count.
func TestOTPAttemptLimits(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	const ip = "192.0.2.7"
	var code string
	for round := range 2 {
		var flow string
		flow, code = e.LoginCode(m, idptest.Alice, ip)
		for i := range 5 {
			_, err := e.P.CodeLogin.Finish(e.Ctx, flow, idptest.WrongCode(code, round*5+i), ip)
			want := otp.ErrCodeInvalid
			if i == 4 {
				want = otp.ErrCodeAttempts
			}
			if !errors.Is(err, want) {
				t.Fatalf("round %d wrong code %d: %v, want %v", round, i+1, err, want)
			}
		}
		if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, ip); !errors.Is(err, otp.ErrCodeExpired) {
			t.Fatalf("right code of a spent challenge: %v", err)
		}
	}
	flow, code := e.LoginCode(m, idptest.Alice, ip)
	var locked *lockout.LockedError
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, ip); !errors.As(err, &locked) {
		t.Fatalf("right code after 10 failures: %v, want LockedError", err)
	}
	if locked.RetryAfter <= 0 || locked.RetryAfter > 15*time.Minute {
		t.Errorf("RetryAfter %v", locked.RetryAfter)
	}
	// The lock applies to recovery and verification codes of the account too.
	rflow, err := e.P.Recovery.Begin(e.Ctx, idptest.Alice, "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Recovery.Finish(e.Ctx, rflow, m.Last(t, idptest.Alice, otp.MsgRecovery).Vars.Code, ip); !errors.As(err, &locked) {
		t.Fatalf("recovery code of a locked account: %v", err)
	}
	// After the window, codes work again, and a success resets the count.
	e.Clock.Advance(15*time.Minute + time.Second)
	flow, code = e.LoginCode(m, idptest.Alice, ip)
	for i := range 4 {
		if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, idptest.WrongCode(code, 100+i), ip); !errors.Is(err, otp.ErrCodeInvalid) {
			t.Fatal(err)
		}
	}
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, ip); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for range 2 {
		flow, code = e.LoginCode(m, idptest.Alice, ip)
		for i := range 4 {
			if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, idptest.WrongCode(code, 200+i), ip); !errors.Is(err, otp.ErrCodeInvalid) {
				t.Fatalf("after a success the count starts over: %v", err)
			}
		}
	}
}

// TestOTPParallelVerify: RB-08 — twenty parallel uses of the right code log in once (the
// others are refused: used, or over the account's 10 reserved attempts); thirty
// parallel wrong codes on one challenge are compared at most five times, and end it.
func TestOTPParallelVerify(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	flow, code := e.LoginCode(m, idptest.Alice, "192.0.2.8")
	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			var locked *lockout.LockedError
			if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.8"); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, otp.ErrCodeExpired) && !errors.As(err, &locked) {
				// Losers find the code used, or (past 10 reserved attempts) the account
				// busy: both are refusals.
				t.Errorf("parallel use: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d successful uses, want 1", wins)
	}

	flow, code = e.LoginCode(m, idptest.Alice, "192.0.2.8")
	incorrect := 0
	for i := range 30 {
		wg.Go(func() {
			// Of the counted tries only the first five are compared: four can answer
			// ErrCodeInvalid, the fifth ErrCodeAttempts, and later ones find the challenge
			// ended (ErrCodeAttempts, ErrCodeExpired) or the account busy (LockedError).
			if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, idptest.WrongCode(code, i), "192.0.2.8"); errors.Is(err, otp.ErrCodeInvalid) {
				mu.Lock()
				incorrect++
				mu.Unlock()
			} else if err == nil {
				t.Error("a wrong code logged in")
			}
		})
	}
	wg.Wait()
	if incorrect > 4 {
		t.Fatalf("%d wrong codes answered incorrect on one challenge, want ≤ 4 (5 compared)", incorrect)
	}
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.8"); err == nil {
		t.Fatal("the right code works after the parallel burst")
	}
}

// TestOTPCodeFormat: CR-13 — codes are 6 ASCII digits; anything else is refused as input
// before any comparison (and costs no attempt); no numeric coercion: a code with a leading 0
// is not matched by its 5 other digits.
func TestOTPCodeFormat(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	six := regexp.MustCompile(`^[0-9]{6}$`)
	var flow, code string
	for i := 0; ; i++ {
		if i == 300 {
			t.Fatal("300 codes and none starts with 0")
		}
		flow, code = e.LoginCode(m, idptest.Alice, fmt.Sprintf("192.0.2.%d", i%200))
		if !six.MatchString(code) {
			t.Fatalf("code %q is not 6 digits", code)
		}
		if code[0] == '0' {
			break
		}
		e.Clock.Advance(16 * time.Minute) // past the send limits
	}
	full := strings.Map(func(r rune) rune { return r - '0' + '０' }, code)
	for _, v := range []string{code[1:], " " + code, code + " ", full, code[1:] + "６", code[:5] + "６", "0" + code, "+" + code[1:], code[:5], "", "٠" + code[1:]} {
		var in *input.Error
		if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, v, "192.0.2.9"); !errors.As(err, &in) || in.Field != "code" {
			t.Errorf("code %q: %v, want an InputError on code", v, err)
		}
	}
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.9"); err != nil {
		t.Fatalf("the exact code after malformed ones: %v", err)
	}
}

// TestOTPUnknownAddressesAlike: CR-06 — for an address or number without an account the
// start calls succeed the same way, send nothing, and every code is wrong the same way up to
// the end of the challenge; a magic link for it stores a record that can never log in.
func TestOTPUnknownAddressesAlike(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	ip := "192.0.2.11"
	kflow, kcode := e.LoginCode(m, idptest.Alice, ip)
	uflow, ucode := e.LoginCode(m, "nobody@example.com", "192.0.2.12")
	if ucode != "" || m.Count("nobody@example.com") != 0 || len(uflow) != len(kflow) {
		t.Fatalf("unknown address: message %q, flow %q", ucode, uflow)
	}
	for i := range 5 {
		_, ek := e.P.CodeLogin.Finish(e.Ctx, kflow, idptest.WrongCode(kcode, i), ip)
		_, eu := e.P.CodeLogin.Finish(e.Ctx, uflow, idptest.WrongCode(kcode, i), "192.0.2.12")
		if !errors.Is(ek, otp.ErrCodeInvalid) && !errors.Is(ek, otp.ErrCodeAttempts) || idptest.ErrString(ek) != idptest.ErrString(eu) {
			t.Errorf("wrong code %d: known %v, unknown %v", i+1, ek, eu)
		}
	}
	for _, id := range []string{"nobody@example.com", "+14155550199"} {
		if _, err := e.P.Recovery.Begin(e.Ctx, id, "en", ip); err != nil {
			t.Errorf("recovery for %s: %v", id, err)
		}
	}
	if _, err := e.P.SMSCode.Begin(e.Ctx, "+14155550199", "en", ip); err != nil {
		t.Errorf("sms login for an unknown number: %v", err)
	}
	nonce, err := e.P.MagicLink.Begin(e.Ctx, "nobody@example.com", "", "en", ip)
	if err != nil || nonce == "" {
		t.Fatalf("magic link for an unknown address: %q %v", nonce, err)
	}
	links, err := e.Store.ListOneTimeCodes(e.Ctx, "link:login", store.ListOptions{Limit: 10})
	if err != nil || len(links) != 1 || links[0].Subject != "" {
		t.Fatalf("stored links %+v (%v): want one without a subject", links, err)
	}
	if n := m.Count("nobody@example.com") + m.Count("+14155550199"); n != 0 {
		t.Errorf("%d messages to addresses without an account", n)
	}
}

// failingMessenger cannot send anything.
type failingMessenger struct{}

func (failingMessenger) SendEmail(kind, to string, v otp.MessageVars) error {
	return errors.New("queue full")
}

func (failingMessenger) SendSMS(kind, to string, v otp.MessageVars) error {
	return errors.New("queue full")
}

// TestOTPSendFailureLooksLikeUnknown: when a message cannot be sent, the answer for an
// existing account is the one an unknown address gets (CR-06), not an error that tells
// which addresses have accounts.
func TestOTPSendFailureLooksLikeUnknown(t *testing.T) {
	e, _ := idptest.NewWithMessenger(t, func(c *idp.Config) { c.Messenger = failingMessenger{} })
	for _, email := range []string{idptest.Alice, "nobody@example.com"} {
		if flow, err := e.P.EmailCode.Begin(e.Ctx, email, "en", "192.0.2.1"); err != nil || flow == "" {
			t.Errorf("email code for %s: flow %q, error %v", email, flow, err)
		}
		if nonce, err := e.P.MagicLink.Begin(e.Ctx, email, "", "en", "192.0.2.1"); err != nil || nonce == "" {
			t.Errorf("magic link for %s: nonce %q, error %v", email, nonce, err)
		}
		if flow, err := e.P.Recovery.Begin(e.Ctx, email, "en", "192.0.2.1"); err != nil || flow == "" {
			t.Errorf("recovery for %s: flow %q, error %v", email, flow, err)
		}
	}
}
