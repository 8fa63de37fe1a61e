package account_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Sign-up must not tell whether an address has an account (THREATS CR-06, user enumeration
// by messages; CR-07, by timing). With email available it proves the address first
// (account/signup.go); these tests compare, step by step, what an address with an account and
// one without get.

// outcome is what an attacker can observe of one step.
func outcome(err error) string {
	var locked *lockout.LockedError
	var limit *otp.SendLimitError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &locked):
		return "locked"
	case errors.As(err, &limit):
		return "send limit"
	}
	return err.Error()
}

// TestSignupSameAnswerForRegisteredAddress: CR-06 — a sign-up with the address of an
// existing account answers exactly like one with a new address (a flow secret, no error, no
// account yet), and the limits react the same. The new address gets the code; the existing
// account's owner gets a notice with a link to log in, and no code. Codes entered for the
// registered address's sign-up fail exactly like wrong codes for the new one (invalid, then
// burned after 5 tries, then the per-address lock), so the later steps teach nothing
// either; and nothing of the attempt — its password, its names — reaches the existing
// account (no takeover: the owner's password still works, the sign-up's does not).
func TestSignupSameAnswerForRegisteredAddress(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	const fresh = "newcomer@example.com"
	in := func(email string) account.NewUser {
		return account.NewUser{Email: email, Password: "the attacker's password", FirstName: "Mallory"}
	}
	flowTaken, err := e.P.Signup.Start(e.Ctx, in(idptest.Alice), "", "en", "192.0.2.20")
	if err != nil || flowTaken == "" {
		t.Fatalf("sign-up with a registered address: %q, %v", flowTaken, err)
	}
	flowNew, err := e.P.Signup.Start(e.Ctx, in(fresh), "", "en", "192.0.2.21")
	if err != nil || flowNew == "" {
		t.Fatalf("sign-up with a new address: %q, %v", flowNew, err)
	}
	if _, err := e.Store.GetUserByEmail(e.Ctx, fresh); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the account exists before its address was proven: %v", err)
	}

	code := m.Last(t, fresh, otp.MsgVerifyEmail).Vars.Code
	if len(code) != 6 {
		t.Fatalf("the new address got code %q", code)
	}
	notice := m.Last(t, idptest.Alice, otp.MsgSignupExisting)
	if notice.Vars.Code != "" || notice.Vars.Link != idptest.Issuer+"/login" {
		t.Errorf("the owner's notice: %+v, want no code and the login link", notice.Vars)
	}
	for _, msg := range m.Messages() {
		if msg.To == idptest.Alice && msg.Vars.Code != "" {
			t.Errorf("the registered address was sent a code (%s): whoever signs up could finish", msg.Kind)
		}
	}

	// Wrong codes, flow after flow, until the per-address lock: the same story for both.
	story := func(email, first, ip string) []string {
		var out []string
		flow := first
		for round := 0; round < 3; round++ {
			if round > 0 {
				var err error
				if flow, err = e.P.Signup.Start(e.Ctx, in(email), "", "en", ip); err != nil {
					t.Fatalf("sign-up again for %s: %v", email, err)
				}
			}
			for i := 0; i < 5; i++ {
				_, err := e.P.Signup.Finish(e.Ctx, flow, idptest.WrongCode(code, round*10+i), ip)
				out = append(out, outcome(err))
			}
		}
		return out
	}
	takenStory := story(idptest.Alice, flowTaken, "192.0.2.20")
	newStory := story(fresh, flowNew, "192.0.2.21")
	if !slices.Equal(takenStory, newStory) {
		t.Errorf("wrong codes answer differently for a registered address:\n registered: %q\n new:        %q", takenStory, newStory)
	}
	t.Logf("15 wrong codes over 3 sign-ups, either address: %q", newStory)
	if !slices.Contains(newStory, "locked") {
		t.Errorf("no per-address lock after %d wrong codes: %q", len(newStory), newStory)
	}

	// Nothing reached the existing account.
	if _, err := e.P.Password.Login(e.Ctx, idptest.Alice, "the attacker's password", "192.0.2.30"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
		t.Errorf("the sign-up's password logs in to the existing account: %v", err)
	}
	if r, err := e.P.Password.Login(e.Ctx, idptest.Alice, idptest.UserPassword, "192.0.2.30"); err != nil || r.User.FirstName != "Alice" {
		t.Errorf("the owner's own password after the sign-up attempts: %+v, %v", r.User, err)
	}
}

// TestSignupCodeCreatesVerifiedAccount: the right code creates the account with its address
// verified (the code proved it: no pre-registration window, README "Account takeover
// defences"), with the sign-up's password and names; the code works once; a login code of
// the same address entered on the sign-up step does not create anything (codes are bound to
// their flow and purpose, CR-11).
func TestSignupCodeCreatesVerifiedAccount(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	const email = "grace@example.com"
	flow, err := e.P.Signup.Start(e.Ctx, account.NewUser{Email: "Grace@Example.com", Password: "a long enough password",
		FirstName: "Grace", Groups: []string{"admins"}, EmailVerified: true}, "", "en", "192.0.2.40")
	if err != nil {
		t.Fatal(err)
	}
	code := m.Last(t, email, otp.MsgVerifyEmail).Vars.Code
	loginFlow, loginCode := e.LoginCode(m, email, "192.0.2.40") // no account: nothing sent
	if loginCode != "" {
		t.Fatalf("a login code was sent to an address without an account")
	}
	if _, err := e.P.Signup.Finish(e.Ctx, loginFlow, code, "192.0.2.40"); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("the sign-up code with a login flow: %v, want ErrCodeExpired", err)
	}
	s, err := e.P.Signup.Finish(e.Ctx, flow, code, "192.0.2.40")
	if err != nil {
		t.Fatalf("right code: %v", err)
	}
	if !s.User.EmailVerified || s.User.Email != email || s.User.FirstName != "Grace" || len(s.User.Groups) != 0 ||
		!slices.Equal(s.AMR, []string{"pwd"}) {
		t.Errorf("created %+v amr %v: want verified, own names, no self-chosen groups, amr pwd", s.User, s.AMR)
	}
	if _, err := e.P.Password.Login(e.Ctx, email, "a long enough password", "192.0.2.41"); err != nil {
		t.Errorf("the sign-up's password: %v", err)
	}
	if _, err := e.P.Signup.Finish(e.Ctx, flow, code, "192.0.2.40"); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("the code a second time: %v, want ErrCodeExpired", err)
	}
}

// TestSignupInviteVerifiesFirst: in invite mode the invitation is checked at the start (the
// same for registered and new addresses, and bound invitations only for their address) and
// used only when the account is created, so an abandoned sign-up does not burn it.
func TestSignupInviteVerifiesFirst(t *testing.T) {
	e, m := idptest.NewWithMessenger(t, func(c *idp.Config) { c.SignupMode = idp.SignupInvite })
	inv, err := e.P.Signup.CreateInvite(e.Ctx, "", []string{"beta"})
	if err != nil {
		t.Fatal(err)
	}
	nu := func(email string) account.NewUser {
		return account.NewUser{Email: email, Password: "a long enough password"}
	}
	if _, err := e.P.Signup.Start(e.Ctx, nu("x@example.com"), "", "en", "192.0.2.50"); !errors.Is(err, account.ErrInviteRequired) {
		t.Errorf("without an invitation: %v", err)
	}
	for _, email := range []string{idptest.Alice, "x@example.com"} {
		if _, err := e.P.Signup.Start(e.Ctx, nu(email), "bogus", "en", "192.0.2.50"); !errors.Is(err, account.ErrInviteInvalid) {
			t.Errorf("%s with a bogus invitation: %v", email, err)
		}
		if _, err := e.P.Signup.Start(e.Ctx, nu(email), inv.Code, "en", "192.0.2.50"); err != nil {
			t.Errorf("%s with a valid invitation: %v", email, err)
		}
	}
	flow, err := e.P.Signup.Start(e.Ctx, nu("uma@example.com"), inv.Code, "en", "192.0.2.50")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.P.Signup.Start(e.Ctx, nu("vic@example.com"), inv.Code, "en", "192.0.2.51")
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.P.Signup.Finish(e.Ctx, flow, m.Last(t, "uma@example.com", otp.MsgVerifyEmail).Vars.Code, "192.0.2.50")
	if err != nil || !slices.Equal(s.User.Groups, []string{"beta"}) {
		t.Fatalf("finish with the invitation: %+v %v", s.User, err)
	}
	// Used now: the other pending sign-up with it cannot finish, nor can a new one start.
	if _, err := e.P.Signup.Finish(e.Ctx, other, m.Last(t, "vic@example.com", otp.MsgVerifyEmail).Vars.Code, "192.0.2.51"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Errorf("second sign-up with a used invitation: %v, want ErrInviteInvalid", err)
	}
	if _, err := e.Store.GetUserByEmail(e.Ctx, "vic@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an account was created with a used invitation: %v", err)
	}
	if _, err := e.P.Signup.Start(e.Ctx, nu("wes@example.com"), inv.Code, "en", "192.0.2.51"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Errorf("a used invitation started a sign-up: %v", err)
	}
	bound, _ := e.P.Signup.CreateInvite(e.Ctx, "carol@example.com", nil)
	if _, err := e.P.Signup.Start(e.Ctx, nu("mallory@example.com"), bound.Code, "en", "192.0.2.52"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Errorf("a bound invitation for another address: %v", err)
	}
}

// TestSignupRevealsExistingOption: signup_reveals_existing keeps the old sign-up — the
// account at once, ErrEmailTaken for a registered address (enumeration, CR-06, chosen by the
// operator) — and so does a server that cannot send email.
func TestSignupRevealsExistingOption(t *testing.T) {
	for name, mod := range map[string]func(*idp.Config){
		"option":   func(c *idp.Config) { c.SignupRevealsExisting = true },
		"no email": func(c *idp.Config) { c.Messenger, c.EmailEnabled = nil, false },
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := idptest.NewWithMessenger(t, mod)
			if e.P.Signup.VerifiesFirst() {
				t.Fatal("SignupVerifiesFirst")
			}
			in := account.NewUser{Email: idptest.Alice, Password: "a long enough password"}
			if _, err := e.P.Signup.Start(e.Ctx, in, "", "en", "192.0.2.60"); !errors.Is(err, otp.ErrMethodDisabled) {
				t.Errorf("StartSignup: %v", err)
			}
			if _, err := e.P.Signup.Create(e.Ctx, in, "", "192.0.2.60"); !errors.Is(err, account.ErrEmailTaken) {
				t.Errorf("Signup with a registered address: %v, want ErrEmailTaken", err)
			}
		})
	}
}

// TestSignupTiming: CR-07 — a sign-up costs the same time whether the address has an
// account: both do the argon2id hash (OWASP parameters, as in production), the lookup, one
// stored challenge and one message handed to the (asynchronous) messenger. Requests
// alternate between the two kinds; the medians must be within a factor of 1.5 of each other.
// The real difference is a few microseconds against tens of milliseconds of hashing; a
// branch that skipped the hash would be 10-20 times faster, far outside the bound, which is
// loose only so that a busy shared CPU does not fail the test.
func TestSignupTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes passwords with production parameters")
	}
	e, _ := idptest.NewWithMessenger(t)
	e.P.Signup.Hasher = password.New(password.OWASP, 0)
	const n = 40
	var taken, fresh []time.Duration
	for i := 0; i < n; i++ {
		email := fmt.Sprintf("member%d@example.com", i)
		if _, err := e.P.Accounts.Create(e.Ctx, account.NewUser{Email: email}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		for _, registered := range []bool{i%2 == 0, i%2 != 0} {
			email := fmt.Sprintf("newcomer%d@example.com", i)
			if registered {
				email = fmt.Sprintf("member%d@example.com", i)
			}
			ip := fmt.Sprintf("198.51.%d.%d", i, map[bool]int{true: 1, false: 2}[registered])
			start := time.Now()
			if _, err := e.P.Signup.Start(e.Ctx, account.NewUser{Email: email, Password: "a long enough password"}, "", "en", ip); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			if registered {
				taken = append(taken, d)
			} else {
				fresh = append(fresh, d)
			}
		}
	}
	mt, mf := median(taken), median(fresh)
	ratio := float64(mt) / float64(mf)
	t.Logf("StartSignup over %d requests each: median %v (registered address) vs %v (new address), ratio %.3f", n, mt, mf, ratio)
	if ratio < 0.67 || ratio > 1.5 {
		t.Errorf("registered/new median time ratio %.3f (%v vs %v): the branches do different work", ratio, mt, mf)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestPasskeySignupVerifiesFirst: the passkey sign-up answers the same for a registered
// address — its begin step no longer says email_taken (CR-06), and its finish step sends a
// code or the owner's notice exactly like the password sign-up — and the passkey is attached
// only to the account the code creates: the sign-up's passkey never reaches the existing
// account (no takeover through a sign-up ceremony).
func TestPasskeySignupVerifiesFirst(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	ceremony := func(email, ip string) (string, error) {
		auth := softauthn.New(idptest.Issuer)
		c, err := e.P.Passkey.BeginSignup(e.Ctx, account.NewUser{Email: email}, "", ip)
		if err != nil {
			return "", fmt.Errorf("begin: %w", err)
		}
		opts, _ := json.Marshal(c.Options)
		resp, _, err := auth.Create(opts)
		if err != nil {
			t.Fatal(err)
		}
		return e.P.Passkey.FinishSignupByCode(e.Ctx, c.Secret, resp, "Laptop", "en", ip)
	}
	const fresh = "ada@example.com"
	flowTaken, errTaken := ceremony(idptest.Alice, "192.0.2.70")
	flowNew, errNew := ceremony(fresh, "192.0.2.71")
	if errTaken != nil || errNew != nil || flowTaken == "" || flowNew == "" {
		t.Fatalf("passkey sign-ups: registered %v, new %v", errTaken, errNew)
	}
	if n := m.Last(t, idptest.Alice, otp.MsgSignupExisting); n.Vars.Code != "" {
		t.Errorf("the registered address got a code")
	}
	code := m.Last(t, fresh, otp.MsgVerifyEmail).Vars.Code
	_, errTaken = e.P.Signup.Finish(e.Ctx, flowTaken, code, "192.0.2.70")
	_, errWrong := e.P.Signup.Finish(e.Ctx, flowNew, idptest.WrongCode(code, 1), "192.0.2.71")
	if outcome(errTaken) != outcome(errWrong) {
		t.Errorf("a code on the registered address's sign-up: %v; a wrong code on the new one: %v", errTaken, errWrong)
	}
	s, err := e.P.Signup.Finish(e.Ctx, flowNew, code, "192.0.2.71")
	if err != nil {
		t.Fatalf("right code: %v", err)
	}
	if !s.User.EmailVerified || s.Passkey == "" || !slices.Equal(s.AMR, []string{login.AMRWebAuthn}) {
		t.Errorf("passkey sign-up created %+v (passkey %q, amr %v)", s.User, s.Passkey, s.AMR)
	}
	if pks, err := e.Store.ListUserPasskeys(e.Ctx, s.User.ID); err != nil || len(pks) != 1 || pks[0].Name != "Laptop" {
		t.Errorf("the new account's passkeys: %+v %v", pks, err)
	}
	if pks, err := e.Store.ListUserPasskeys(e.Ctx, e.User.ID); err != nil || len(pks) != 0 {
		t.Errorf("a sign-up ceremony attached a passkey to the existing account: %+v %v", pks, err)
	}
}

// TestSignupModes: sign-up honours the configured mode — closed refuses, open creates
// (never with self-chosen groups or a verified email), invite requires a valid single-use
// invitation, bound to its email when it has one, which gives its groups.
func TestSignupModes(t *testing.T) {
	e := idptest.New(t)
	in := account.NewUser{Email: "new@example.com", Password: "a long enough password", Groups: []string{"admins"}, EmailVerified: true}

	if _, err := e.P.Signup.Create(e.Ctx, in, "", "192.0.2.10"); !errors.Is(err, account.ErrSignupClosed) {
		t.Fatalf("closed: %v", err)
	}

	e.P.Signup.Mode = idp.SignupOpen
	res, err := e.P.Signup.Create(e.Ctx, in, "", "192.0.2.10")
	u := res.User
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if len(u.Groups) != 0 || u.EmailVerified {
		t.Fatalf("sign-up chose its own groups or verification: %+v", u)
	}
	if _, err := e.P.Password.Login(e.Ctx, "new@example.com", in.Password, "192.0.2.1"); err != nil {
		t.Fatalf("login after sign-up: %v", err)
	}
	// This provider cannot send email, so sign-up is the immediate kind, which refuses a
	// registered address and so reveals it (CR-06); with email, sign-up answers every address
	// alike (TestSignupSameAnswerForRegisteredAddress).
	dup := in
	dup.Email = "NEW@Example.com"
	if _, err := e.P.Signup.Create(e.Ctx, dup, "", "192.0.2.10"); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
	weak := in
	weak.Email = "weak@example.com"
	weak.Password = "short"
	var ie *input.Error
	if _, err := e.P.Signup.Create(e.Ctx, weak, "", "192.0.2.10"); !errors.As(err, &ie) || ie.Field != "password" {
		t.Fatalf("weak password: %v", err)
	}
	bad := in
	bad.Email = "Eve <eve@example.com>"
	if _, err := e.P.Signup.Create(e.Ctx, bad, "", "192.0.2.10"); !errors.As(err, &ie) || ie.Field != "email" {
		t.Fatalf("display-name email: %v", err)
	}

	e.P.Signup.Mode = idp.SignupInvite
	in.Email = "invited@example.com"
	if _, err := e.P.Signup.Create(e.Ctx, in, "", "192.0.2.10"); !errors.Is(err, account.ErrInviteRequired) {
		t.Fatalf("invite mode without a code: %v", err)
	}
	if _, err := e.P.Signup.Create(e.Ctx, in, "bogus", "192.0.2.10"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Fatalf("bogus invitation: %v", err)
	}
	inv, err := e.P.Signup.CreateInvite(e.Ctx, "", []string{"staff", "beta"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = e.P.Signup.Create(e.Ctx, in, inv.Code, "192.0.2.10")
	u = res.User
	if err != nil {
		t.Fatalf("valid invitation: %v", err)
	}
	if strings.Join(u.Groups, ",") != "staff,beta" {
		t.Fatalf("groups from the invitation: %v", u.Groups)
	}
	in.Email = "second@example.com"
	if _, err := e.P.Signup.Create(e.Ctx, in, inv.Code, "192.0.2.10"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Fatalf("invitation reused: %v", err)
	}

	// Email-bound invitation: another address cannot use it, and trying does not burn it.
	bound, err := e.P.Signup.CreateInvite(e.Ctx, "Carol@Example.com", nil)
	if err != nil || bound.Email != "carol@example.com" {
		t.Fatalf("bound invite: %+v %v", bound, err)
	}
	in.Email = "mallory@example.com"
	if _, err := e.P.Signup.Create(e.Ctx, in, bound.Code, "192.0.2.10"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Fatalf("bound invitation used by another email: %v", err)
	}
	in.Email = "CAROL@example.com"
	if r, err := e.P.Signup.Create(e.Ctx, in, bound.Code, "192.0.2.10"); err != nil || r.User.Email != "carol@example.com" {
		t.Fatalf("bound invitation by its owner: %v", err)
	}

	// An invitation whose sign-up fails (email taken) is given back.
	again, _ := e.P.Signup.CreateInvite(e.Ctx, "", nil)
	in.Email = "alice@example.com"
	if _, err := e.P.Signup.Create(e.Ctx, in, again.Code, "192.0.2.10"); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("taken email: %v", err)
	}
	in.Email = "dave@example.com"
	if _, err := e.P.Signup.Create(e.Ctx, in, again.Code, "192.0.2.10"); err != nil {
		t.Fatalf("invitation not given back after a failed sign-up: %v", err)
	}

	// Expired invitation.
	old, _ := e.P.Signup.CreateInvite(e.Ctx, "", nil)
	e.Clock.Advance(e.P.InviteLifetime)
	in.Email = "late@example.com"
	if _, err := e.P.Signup.Create(e.Ctx, in, old.Code, "192.0.2.10"); !errors.Is(err, account.ErrInviteInvalid) {
		t.Fatalf("expired invitation: %v", err)
	}
}

// TestInviteSingleUseConcurrent: an invitation used by parallel sign-ups creates exactly one
// account.
func TestInviteSingleUseConcurrent(t *testing.T) {
	e := idptest.New(t, func(c *idp.Config) { c.SignupMode = idp.SignupInvite })
	inv, err := e.P.Signup.CreateInvite(e.Ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.P.Signup.Create(e.Ctx, account.NewUser{Email: "racer" + string(rune('a'+i)) + "@example.com", Password: "a long enough password"}, inv.Code, "192.0.2.10")
			if err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d accounts created with one invitation", created)
	}
}

// TestSignupThrottledPerIP: sign-up attempts are limited per client IP (each costs a
// password hash and tells whether an address is registered), and IPv6 addresses count per
// /64.
func TestSignupThrottledPerIP(t *testing.T) {
	e := idptest.New(t) // signup closed: every attempt is refused, and still counted
	var err error
	for i := 0; i < 31; i++ {
		_, err = e.P.Signup.Create(e.Ctx, account.NewUser{Email: fmt.Sprintf("u%d@example.com", i), Password: "long enough password"},
			"", fmt.Sprintf("2001:db8:aa:bb::%x", i+1))
	}
	var locked *lockout.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("31st sign-up from one /64: %v, want too many attempts", err)
	}
	if _, err := e.P.Signup.Create(e.Ctx, account.NewUser{Email: "x@example.com", Password: "long enough password"}, "", "192.0.2.99"); !errors.Is(err, account.ErrSignupClosed) {
		t.Fatalf("another IP: %v", err)
	}
}
