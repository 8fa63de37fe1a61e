package idp_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Unit tests of the email/SMS code, magic link and recovery methods (idp/otp.go) on a Badger
// store with a fake clock, so that lifetimes and lockout windows are crossed exactly. The
// end-to-end tests (e2e/codes_test.go) run the same rules through Caddy, a real SMTP server
// and a Twilio-shaped API.

// otMessage is a message the fake messenger captured.
type otMessage struct {
	SMS      bool
	Kind, To string
	Vars     idp.MessageVars
}

// otMessenger captures messages in memory.
type otMessenger struct {
	mu   sync.Mutex
	msgs []otMessage
}

func (m *otMessenger) SendEmail(kind, to string, v idp.MessageVars) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, otMessage{Kind: kind, To: to, Vars: v})
	return nil
}

func (m *otMessenger) SendSMS(kind, to string, v idp.MessageVars) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, otMessage{SMS: true, Kind: kind, To: to, Vars: v})
	return nil
}

// last returns the last message to to of kind (fatal if none).
func (m *otMessenger) last(t testing.TB, to, kind string) otMessage {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].To == to && m.msgs[i].Kind == kind {
			return m.msgs[i]
		}
	}
	t.Fatalf("no %s message to %s", kind, to)
	return otMessage{}
}

func (m *otMessenger) count(to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.msgs {
		if x.To == to {
			n++
		}
	}
	return n
}

// otEnv is newEnv with every passwordless method on and a capturing messenger.
func otEnv(t testing.TB, mod ...func(*idp.Config)) (*env, *otMessenger) {
	t.Helper()
	m := &otMessenger{}
	e := newEnv(t, append([]func(*idp.Config){func(c *idp.Config) {
		c.Methods = []string{idp.MethodEmailCode, idp.MethodMagicLink, idp.MethodSMSCode}
		c.Messenger, c.EmailEnabled, c.SMSEnabled = m, true, true
		c.SignupMode = idp.SignupOpen
	}}, mod...)...)
	return e, m
}

const otAlice = "alice@example.com"

// otLoginCode starts an email code login for email from ip and returns the flow secret and
// the code sent (code "" when nothing was sent).
func otLoginCode(t testing.TB, e *env, m *otMessenger, email, ip string) (flow, code string) {
	t.Helper()
	before := m.count(email)
	flow, err := e.p.StartEmailCodeLogin(e.ctx, email, "en", ip)
	if err != nil {
		t.Fatalf("StartEmailCodeLogin: %v", err)
	}
	if m.count(email) > before {
		code = m.last(t, email, idp.MsgLoginCode).Vars.Code
	}
	return flow, code
}

func otWrong(code string, i int) string {
	w := fmt.Sprintf("%06d", (i*7919+13)%1_000_000)
	if w == code {
		w = fmt.Sprintf("%06d", (i*7919+14)%1_000_000)
	}
	return w
}

// TestOTPCodeLifetime: CR-10 — a code works until its 10 minutes are up and not at the
// tenth minute; a configured lifetime above 10 minutes is cut to 10.
func TestOTPCodeLifetime(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			e, m := otEnv(t, func(c *idp.Config) { c.CodeTTL = ttl })
			flow, code := otLoginCode(t, e, m, otAlice, "192.0.2.1")
			if got := m.last(t, otAlice, idp.MsgLoginCode).Vars.ExpiresIn; got != 10*time.Minute {
				t.Errorf("message says %v, want 10m", got)
			}
			e.clk.Advance(10*time.Minute - time.Second)
			if _, amr, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.1"); err != nil || amr[0] != idp.AMREmailCode {
				t.Fatalf("at 9:59: %v %v", amr, err)
			}
			flow, code = otLoginCode(t, e, m, otAlice, "192.0.2.1")
			e.clk.Advance(10 * time.Minute)
			if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.1"); !errors.Is(err, idp.ErrCodeExpired) {
				t.Fatalf("at 10:00: %v, want ErrCodeExpired", err)
			}
		})
	}
}

// TestOTPMagicLinkLifetime: CR-14 — a link works until its lifetime (10 minutes by default,
// at most 15) is up, and once.
func TestOTPMagicLinkLifetime(t *testing.T) {
	for _, c := range []struct{ cfg, want time.Duration }{{0, 10 * time.Minute}, {time.Hour, 15 * time.Minute}} {
		t.Run(fmt.Sprint(c.cfg), func(t *testing.T) {
			e, m := otEnv(t, func(cfg *idp.Config) { cfg.MagicLinkTTL = c.cfg })
			start := func() (string, string) {
				nonce, err := e.p.StartMagicLink(e.ctx, otAlice, "/next", "en", "192.0.2.1")
				if err != nil {
					t.Fatal(err)
				}
				msg := m.last(t, otAlice, idp.MsgMagicLink)
				if msg.Vars.ExpiresIn != c.want {
					t.Errorf("message says %v, want %v", msg.Vars.ExpiresIn, c.want)
				}
				prefix := issuer + "/login/magic#"
				if !strings.HasPrefix(msg.Vars.Link, prefix) {
					t.Fatalf("link %q, want %s<token>", msg.Vars.Link, prefix)
				}
				return nonce, strings.TrimPrefix(msg.Vars.Link, prefix)
			}
			nonce, tok := start()
			e.clk.Advance(c.want - time.Second)
			u, ml, err := e.p.RedeemMagicLink(e.ctx, tok, nonce, false)
			if err != nil || u.Email != otAlice || ml.ReturnTo != "/next" {
				t.Fatalf("before expiry: %v %+v %v", u.Email, ml, err)
			}
			if _, _, err := e.p.RedeemMagicLink(e.ctx, tok, nonce, false); !errors.Is(err, idp.ErrLinkExpired) {
				t.Fatalf("second use: %v", err)
			}
			nonce, tok = start()
			e.clk.Advance(c.want)
			if _, _, err := e.p.RedeemMagicLink(e.ctx, tok, nonce, false); !errors.Is(err, idp.ErrLinkExpired) {
				t.Fatalf("at expiry: %v", err)
			}
		})
	}
}

// TestOTPAttemptLimits: CR-09 — 5 wrong codes end a challenge; 10 per account across
// challenges lock its codes until the lockout window ends; a right code resets the count.
func TestOTPAttemptLimits(t *testing.T) {
	e, m := otEnv(t)
	const ip = "192.0.2.7"
	var code string
	for round := range 2 {
		var flow string
		flow, code = otLoginCode(t, e, m, otAlice, ip)
		for i := range 5 {
			_, _, err := e.p.FinishCodeLogin(e.ctx, flow, otWrong(code, round*5+i), ip)
			want := idp.ErrCodeInvalid
			if i == 4 {
				want = idp.ErrCodeAttempts
			}
			if !errors.Is(err, want) {
				t.Fatalf("round %d wrong code %d: %v, want %v", round, i+1, err, want)
			}
		}
		if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, ip); !errors.Is(err, idp.ErrCodeExpired) {
			t.Fatalf("right code of a spent challenge: %v", err)
		}
	}
	flow, code := otLoginCode(t, e, m, otAlice, ip)
	var locked *idp.LockedError
	if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, ip); !errors.As(err, &locked) {
		t.Fatalf("right code after 10 failures: %v, want LockedError", err)
	}
	if locked.RetryAfter <= 0 || locked.RetryAfter > 15*time.Minute {
		t.Errorf("RetryAfter %v", locked.RetryAfter)
	}
	// The lock applies to recovery and verification codes of the account too.
	rflow, err := e.p.StartRecovery(e.ctx, otAlice, "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.p.FinishRecovery(e.ctx, rflow, m.last(t, otAlice, idp.MsgRecovery).Vars.Code, ip); !errors.As(err, &locked) {
		t.Fatalf("recovery code of a locked account: %v", err)
	}
	// After the window, codes work again, and a success resets the count.
	e.clk.Advance(15*time.Minute + time.Second)
	flow, code = otLoginCode(t, e, m, otAlice, ip)
	for i := range 4 {
		if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, otWrong(code, 100+i), ip); !errors.Is(err, idp.ErrCodeInvalid) {
			t.Fatal(err)
		}
	}
	if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, ip); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for range 2 {
		flow, code = otLoginCode(t, e, m, otAlice, ip)
		for i := range 4 {
			if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, otWrong(code, 200+i), ip); !errors.Is(err, idp.ErrCodeInvalid) {
				t.Fatalf("after a success the count starts over: %v", err)
			}
		}
	}
}

// TestOTPParallelVerify: RB-08 — twenty parallel uses of the right code log in once (the
// others are refused: used, or over the account's 10 reserved attempts); thirty
// parallel wrong codes on one challenge are compared at most five times, and end it.
func TestOTPParallelVerify(t *testing.T) {
	e, m := otEnv(t)
	flow, code := otLoginCode(t, e, m, otAlice, "192.0.2.8")
	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			var locked *idp.LockedError
			if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.8"); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, idp.ErrCodeExpired) && !errors.As(err, &locked) {
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

	flow, code = otLoginCode(t, e, m, otAlice, "192.0.2.8")
	incorrect := 0
	for i := range 30 {
		wg.Go(func() {
			// Of the counted tries only the first five are compared: four can answer
			// ErrCodeInvalid, the fifth ErrCodeAttempts, and later ones find the challenge
			// ended (ErrCodeAttempts, ErrCodeExpired) or the account busy (LockedError).
			if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, otWrong(code, i), "192.0.2.8"); errors.Is(err, idp.ErrCodeInvalid) {
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
	if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.8"); err == nil {
		t.Fatal("the right code works after the parallel burst")
	}
}

// TestOTPCodeFormat: CR-13 — codes are 6 ASCII digits; anything else is refused as input
// before any comparison (and costs no attempt); no numeric coercion: a code with a leading 0
// is not matched by its 5 other digits.
func TestOTPCodeFormat(t *testing.T) {
	e, m := otEnv(t)
	six := regexp.MustCompile(`^[0-9]{6}$`)
	var flow, code string
	for i := 0; ; i++ {
		if i == 300 {
			t.Fatal("300 codes and none starts with 0")
		}
		flow, code = otLoginCode(t, e, m, otAlice, fmt.Sprintf("192.0.2.%d", i%200))
		if !six.MatchString(code) {
			t.Fatalf("code %q is not 6 digits", code)
		}
		if code[0] == '0' {
			break
		}
		e.clk.Advance(16 * time.Minute) // past the send limits
	}
	full := strings.Map(func(r rune) rune { return r - '0' + '０' }, code)
	for _, v := range []string{code[1:], " " + code, code + " ", full, code[1:] + "６", code[:5] + "６", "0" + code, "+" + code[1:], code[:5], "", "٠" + code[1:]} {
		var in *idp.InputError
		if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, v, "192.0.2.9"); !errors.As(err, &in) || in.Field != "code" {
			t.Errorf("code %q: %v, want an InputError on code", v, err)
		}
	}
	if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.9"); err != nil {
		t.Fatalf("the exact code after malformed ones: %v", err)
	}
}

// TestOTPRecoveryCodesRevoked: CR-31 — a recovery code asked for before the password changed,
// or before a recovery by the other channel finished, no longer works; a recovery ends every
// session of the account and revokes its refresh tokens.
func TestOTPRecoveryCodesRevoked(t *testing.T) {
	e, m := otEnv(t)
	const phone = "+14155550100"
	if _, err := e.store.UpdateUser(e.ctx, e.user.ID, func(u store.User) (store.User, error) {
		u.PhoneNumber, u.PhoneNumberVerified = phone, true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	ip := "192.0.2.10"
	recoveryCode := func(id string, sms bool) (string, string) {
		t.Helper()
		flow, err := e.p.StartRecovery(e.ctx, id, "en", ip)
		if err != nil {
			t.Fatal(err)
		}
		return flow, m.last(t, id, idp.MsgRecovery).Vars.Code
	}

	// Password change.
	flow, code := recoveryCode(otAlice, false)
	sflow, scode := recoveryCode(phone, true)
	s := e.session(idp.SessionMeta{})
	if err := e.p.ChangePassword(e.ctx, s, "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{flow, code}, {sflow, scode}} {
		if _, _, err := e.p.FinishRecovery(e.ctx, c[0], c[1], ip); !errors.Is(err, idp.ErrCodeExpired) {
			t.Errorf("recovery code from before the password change: %v", err)
		}
	}

	// Recovery by SMS, with an email code pending; sessions and refresh tokens end.
	resp, old := e.tokens("openid", "offline_access")
	flow, code = recoveryCode(otAlice, false)
	sflow, scode = recoveryCode(phone, true)
	u, amr, err := e.p.FinishRecovery(e.ctx, sflow, scode, ip)
	if err != nil || u.ID != e.user.ID || amr[0] != idp.AMRSMS {
		t.Fatalf("recovery by SMS: %v %v", amr, err)
	}
	if _, _, err := e.p.FinishRecovery(e.ctx, flow, code, ip); !errors.Is(err, idp.ErrCodeExpired) {
		t.Errorf("email recovery code after the SMS recovery: %v", err)
	}
	if _, err := e.store.GetSession(e.ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session survived the recovery: %v", err)
	}
	if _, oerr := e.p.RefreshGrant(e.ctx, e.web, resp.RefreshToken, ""); oerr == nil || oerr.Code != idp.ErrCodeInvalidGrant {
		t.Errorf("refresh token after recovery: %v", oerr)
	}
	// A fresh recovery code still works.
	flow, code = recoveryCode(otAlice, false)
	if _, _, err := e.p.FinishRecovery(e.ctx, flow, code, ip); err != nil {
		t.Errorf("a new recovery code: %v", err)
	}
}

// TestOTPUnknownAddressesAlike: CR-06 — for an address or number without an account the
// start calls succeed the same way, send nothing, and every code is wrong the same way up to
// the end of the challenge; a magic link for it stores a record that can never log in.
func TestOTPUnknownAddressesAlike(t *testing.T) {
	e, m := otEnv(t)
	ip := "192.0.2.11"
	kflow, kcode := otLoginCode(t, e, m, otAlice, ip)
	uflow, ucode := otLoginCode(t, e, m, "nobody@example.com", "192.0.2.12")
	if ucode != "" || m.count("nobody@example.com") != 0 || len(uflow) != len(kflow) {
		t.Fatalf("unknown address: message %q, flow %q", ucode, uflow)
	}
	for i := range 5 {
		_, _, ek := e.p.FinishCodeLogin(e.ctx, kflow, otWrong(kcode, i), ip)
		_, _, eu := e.p.FinishCodeLogin(e.ctx, uflow, otWrong(kcode, i), "192.0.2.12")
		if !errors.Is(ek, idp.ErrCodeInvalid) && !errors.Is(ek, idp.ErrCodeAttempts) || errString(ek) != errString(eu) {
			t.Errorf("wrong code %d: known %v, unknown %v", i+1, ek, eu)
		}
	}
	for _, id := range []string{"nobody@example.com", "+14155550199"} {
		if _, err := e.p.StartRecovery(e.ctx, id, "en", ip); err != nil {
			t.Errorf("recovery for %s: %v", id, err)
		}
	}
	if _, err := e.p.StartSMSCodeLogin(e.ctx, "+14155550199", "en", ip); err != nil {
		t.Errorf("sms login for an unknown number: %v", err)
	}
	nonce, err := e.p.StartMagicLink(e.ctx, "nobody@example.com", "", "en", ip)
	if err != nil || nonce == "" {
		t.Fatalf("magic link for an unknown address: %q %v", nonce, err)
	}
	links, err := e.store.ListOneTimeCodes(e.ctx, "link:login", store.ListOptions{Limit: 10})
	if err != nil || len(links) != 1 || links[0].Subject != "" {
		t.Fatalf("stored links %+v (%v): want one without a subject", links, err)
	}
	if n := m.count("nobody@example.com") + m.count("+14155550199"); n != 0 {
		t.Errorf("%d messages to addresses without an account", n)
	}
}

// TestOTPAddressChange: CR-11 — codes and links are bound to the address they were sent to:
// once the account's address changed, those sent to the old one do not log in or recover.
func TestOTPAddressChange(t *testing.T) {
	e, m := otEnv(t)
	ip := "192.0.2.13"
	flow, code := otLoginCode(t, e, m, otAlice, ip)
	nonce, err := e.p.StartMagicLink(e.ctx, otAlice, "", "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimPrefix(m.last(t, otAlice, idp.MsgMagicLink).Vars.Link, issuer+"/login/magic#")
	rflow, err := e.p.StartRecovery(e.ctx, otAlice, "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	rcode := m.last(t, otAlice, idp.MsgRecovery).Vars.Code
	vflow, err := e.p.StartEmailVerification(e.ctx, e.user, "alice.new@example.com", "en", ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.FinishEmailVerification(e.ctx, e.user, vflow, m.last(t, "alice.new@example.com", idp.MsgVerifyEmail).Vars.Code, ip); err != nil {
		t.Fatal(err)
	}
	if m.last(t, otAlice, idp.MsgAccountChanged).Vars.Notice == "" {
		t.Error("no notice to the old address")
	}
	if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, ip); !errors.Is(err, idp.ErrCodeExpired) {
		t.Errorf("login code to the old address: %v", err)
	}
	if _, _, err := e.p.RedeemMagicLink(e.ctx, tok, nonce, false); !errors.Is(err, idp.ErrLinkExpired) {
		t.Errorf("link to the old address: %v", err)
	}
	if _, _, err := e.p.FinishRecovery(e.ctx, rflow, rcode, ip); !errors.Is(err, idp.ErrCodeExpired) {
		t.Errorf("recovery code to the old address: %v", err)
	}
	// The new address works.
	flow, code = otLoginCode(t, e, m, "alice.new@example.com", ip)
	if u, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, ip); err != nil || u.ID != e.user.ID {
		t.Errorf("login code to the new address: %v", err)
	}
}
