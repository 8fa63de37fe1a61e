package idp_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/password"
)

// TestNormalizeEmail: CR (account confusion) — an email address has one canonical form:
// case-folded, trimmed, NFKC-normalised (a full-width look-alike is the same account);
// display-name forms, comments, several @, whitespace and invisible format characters
// (zero-width space, soft hyphen, bidi override: look-alike accounts) are refused.
func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":    "alice@example.com",
		"Alice@Example.COM":    "alice@example.com",
		"  bob@example.com \t": "bob@example.com",
		"ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ": "alice@example.com",
		"ALICE@EXAMPLE.COM":                "alice@example.com",
		"first.last+tag@sub.example.co.uk": "first.last+tag@sub.example.co.uk",
	} {
		got, err := idp.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "alice", "alice@", "@example.com", "alice@localhost", "a@b@example.com",
		"Alice <alice@example.com>", "\"Alice\" <alice@example.com>", "<alice@example.com>",
		"alice@example.com (Alice)", "alice @example.com", "alice@exam ple.com", "alice\n@example.com",
		"alice@example.com\x00", "\"alice\"@example.com", "alice@example.com, bob@example.com",
		strings.Repeat("a", 250) + "@example.com", "alice@example.com\u200b", "ali\u00adce@example.com",
		"alice@\u202eexample.com", "\ufeffalice@example.com",
	} {
		if got, err := idp.NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q; want an error", in, got)
		} else {
			var ie *idp.InputError
			if !errors.As(err, &ie) || ie.Field != "email" {
				t.Errorf("NormalizeEmail(%q): error %v does not name the email field", in, err)
			}
		}
	}
}

// TestPasswordLogin: a user logs in with the email in any case and the password; a wrong
// password and an unknown email get the same error (no enumeration); a disabled user is
// told only after the right password.
func TestPasswordLogin(t *testing.T) {
	e := newEnv(t)
	u, err := e.p.PasswordLogin(e.ctx, "ALICE@example.com ", userPassword, "192.0.2.1")
	if err != nil || u.ID != e.user.ID {
		t.Fatalf("login: %v", err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, idp.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "nobody@example.com", userPassword, "192.0.2.1"); !errors.Is(err, idp.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "not an email", userPassword, "192.0.2.1"); err == nil {
		t.Fatal("malformed email accepted")
	}
	// A user created without a password cannot log in with any password.
	nopw, err := e.p.CreateUser(e.ctx, idp.NewUser{Email: "nopw@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, nopw.Email, "", "192.0.2.1"); !errors.Is(err, idp.ErrInvalidCredentials) {
		t.Fatalf("user without password, empty password: %v", err)
	}
	if _, err := e.p.SetDisabled(e.ctx, e.user.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, idp.ErrInvalidCredentials) {
		t.Fatalf("disabled, wrong password: %v (must not reveal the state)", err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "192.0.2.1"); !errors.Is(err, idp.ErrUserDisabled) {
		t.Fatalf("disabled, right password: %v", err)
	}
}

// TestLockoutConcurrent: CR-03 (Keycloak CVE-2024-4629) — the attempt is reserved before the
// password is verified, so N parallel guesses against an account with a limit of 5 get
// exactly 5 evaluations; the rest are refused unevaluated, and the account stays locked
// (even for the right password) until the window ends. Unknown accounts behave the same.
func TestLockoutConcurrent(t *testing.T) {
	for _, email := range []string{"alice@example.com", "ghost@example.com"} {
		t.Run(email, func(t *testing.T) {
			e := newEnv(t)
			const n = 30
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[string]int{}
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := e.p.PasswordLogin(e.ctx, email, "guess-"+string(rune('a'+i)), "192.0.2.1")
					var locked *idp.LockedError
					key := "other: "
					switch {
					case errors.Is(err, idp.ErrInvalidCredentials):
						key = "evaluated"
					case errors.As(err, &locked):
						key = "locked"
						if locked.RetryAfter <= 0 || locked.RetryAfter > e.p.LockoutWindow {
							key = "bad RetryAfter"
						}
					default:
						key += errString(err)
					}
					mu.Lock()
					counts[key]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts["evaluated"] != 5 || counts["locked"] != n-5 || len(counts) != 2 {
				t.Fatalf("outcomes %v; want exactly 5 evaluated and %d locked", counts, n-5)
			}
			var locked *idp.LockedError
			if _, err := e.p.PasswordLogin(e.ctx, email, userPassword, "192.0.2.1"); !errors.As(err, &locked) {
				t.Fatalf("right password while locked: %v", err)
			}
			if !strings.Contains(locked.Error(), "minute") {
				t.Fatalf("lock message %q", locked.Error())
			}
			e.clk.Advance(e.p.LockoutWindow)
			_, err := e.p.PasswordLogin(e.ctx, email, userPassword, "192.0.2.1")
			if email == "alice@example.com" && err != nil {
				t.Fatalf("after the window: %v", err)
			}
			if email != "alice@example.com" && !errors.Is(err, idp.ErrInvalidCredentials) {
				t.Fatalf("unknown user after the window: %v", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestLockoutResetsOnSuccess: a successful login clears the account's failures, so a user
// who mistypes now and then is never locked out; failures are per account.
func TestLockoutResetsOnSuccess(t *testing.T) {
	e := newEnv(t)
	for round := 0; round < 3; round++ {
		for i := 0; i < 4; i++ {
			if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", "typo", "192.0.2.1"); !errors.Is(err, idp.ErrInvalidCredentials) {
				t.Fatalf("round %d failure %d: %v", round, i, err)
			}
		}
		if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "192.0.2.1"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	// Another account's failures do not lock alice.
	for i := 0; i < 10; i++ {
		_, _ = e.p.PasswordLogin(e.ctx, "mallory@example.com", "x", "192.0.2.9")
	}
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "192.0.2.1"); err != nil {
		t.Fatalf("alice locked by mallory's failures: %v", err)
	}
	// The account key is the normalised email: case variants share one counter.
	for i := 0; i < 5; i++ {
		_, _ = e.p.PasswordLogin(e.ctx, []string{"ALICE@example.com", "alice@EXAMPLE.com", "Alice@Example.Com"}[i%3], "typo", "192.0.2.1")
	}
	var locked *idp.LockedError
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "192.0.2.1"); !errors.As(err, &locked) {
		t.Fatalf("case variants escaped the account limit: %v", err)
	}
}

// TestLockoutPerIP: CR-03 — one client IP spraying many accounts is stopped by the
// per-IP limit; other IPs are unaffected.
func TestLockoutPerIP(t *testing.T) {
	e := newEnv(t, func(c *idp.Config) { c.IPMaxFailures = 3 })
	for i := 0; i < 3; i++ {
		email := string(rune('a'+i)) + "@example.com"
		if _, err := e.p.PasswordLogin(e.ctx, email, "spray", "203.0.113.7"); !errors.Is(err, idp.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var locked *idp.LockedError
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "203.0.113.7"); !errors.As(err, &locked) {
		t.Fatalf("fourth account from the same IP: %v", err)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "198.51.100.1"); err != nil {
		t.Fatalf("another IP: %v", err)
	}
}

// TestPasswordRehashOnLogin: a password stored with older parameters is rehashed with the
// current ones at the next successful login.
func TestPasswordRehashOnLogin(t *testing.T) {
	e := newEnv(t)
	before, err := e.store.GetPassword(e.ctx, e.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.p.Password.Hasher = password.New(password.Params{Memory: 128, Time: 1, Threads: 1}, 0)
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	after, _ := e.store.GetPassword(e.ctx, e.user.ID)
	if after.Hash == before.Hash || !strings.Contains(after.Hash, "m=128,t=1,p=1") {
		t.Fatalf("hash not upgraded: %s", after.Hash)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "alice@example.com", userPassword, "192.0.2.1"); err != nil {
		t.Fatalf("login with the upgraded hash: %v", err)
	}
}

// TestSignupModes: sign-up honours the configured mode — closed refuses, open creates
// (never with self-chosen groups or a verified email), invite requires a valid single-use
// invitation, bound to its email when it has one, which gives its groups.
func TestSignupModes(t *testing.T) {
	e := newEnv(t)
	in := idp.NewUser{Email: "new@example.com", Password: "a long enough password", Groups: []string{"admins"}, EmailVerified: true}

	if _, err := e.p.Signup(e.ctx, in, "", "192.0.2.10"); !errors.Is(err, idp.ErrSignupClosed) {
		t.Fatalf("closed: %v", err)
	}

	e.p.Signups.Mode = idp.SignupOpen
	u, err := e.p.Signup(e.ctx, in, "", "192.0.2.10")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if len(u.Groups) != 0 || u.EmailVerified {
		t.Fatalf("sign-up chose its own groups or verification: %+v", u)
	}
	if _, err := e.p.PasswordLogin(e.ctx, "new@example.com", in.Password, "192.0.2.1"); err != nil {
		t.Fatalf("login after sign-up: %v", err)
	}
	// This provider cannot send email, so sign-up is the immediate kind, which refuses a
	// registered address and so reveals it (CR-06); with email, sign-up answers every address
	// alike (TestSignupSameAnswerForRegisteredAddress).
	dup := in
	dup.Email = "NEW@Example.com"
	if _, err := e.p.Signup(e.ctx, dup, "", "192.0.2.10"); !errors.Is(err, idp.ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
	weak := in
	weak.Email = "weak@example.com"
	weak.Password = "short"
	var ie *idp.InputError
	if _, err := e.p.Signup(e.ctx, weak, "", "192.0.2.10"); !errors.As(err, &ie) || ie.Field != "password" {
		t.Fatalf("weak password: %v", err)
	}
	bad := in
	bad.Email = "Eve <eve@example.com>"
	if _, err := e.p.Signup(e.ctx, bad, "", "192.0.2.10"); !errors.As(err, &ie) || ie.Field != "email" {
		t.Fatalf("display-name email: %v", err)
	}

	e.p.Signups.Mode = idp.SignupInvite
	in.Email = "invited@example.com"
	if _, err := e.p.Signup(e.ctx, in, "", "192.0.2.10"); !errors.Is(err, idp.ErrInviteRequired) {
		t.Fatalf("invite mode without a code: %v", err)
	}
	if _, err := e.p.Signup(e.ctx, in, "bogus", "192.0.2.10"); !errors.Is(err, idp.ErrInviteInvalid) {
		t.Fatalf("bogus invitation: %v", err)
	}
	inv, err := e.p.CreateInvite(e.ctx, "", []string{"staff", "beta"})
	if err != nil {
		t.Fatal(err)
	}
	u, err = e.p.Signup(e.ctx, in, inv.Code, "192.0.2.10")
	if err != nil {
		t.Fatalf("valid invitation: %v", err)
	}
	if strings.Join(u.Groups, ",") != "staff,beta" {
		t.Fatalf("groups from the invitation: %v", u.Groups)
	}
	in.Email = "second@example.com"
	if _, err := e.p.Signup(e.ctx, in, inv.Code, "192.0.2.10"); !errors.Is(err, idp.ErrInviteInvalid) {
		t.Fatalf("invitation reused: %v", err)
	}

	// Email-bound invitation: another address cannot use it, and trying does not burn it.
	bound, err := e.p.CreateInvite(e.ctx, "Carol@Example.com", nil)
	if err != nil || bound.Email != "carol@example.com" {
		t.Fatalf("bound invite: %+v %v", bound, err)
	}
	in.Email = "mallory@example.com"
	if _, err := e.p.Signup(e.ctx, in, bound.Code, "192.0.2.10"); !errors.Is(err, idp.ErrInviteInvalid) {
		t.Fatalf("bound invitation used by another email: %v", err)
	}
	in.Email = "CAROL@example.com"
	if u, err := e.p.Signup(e.ctx, in, bound.Code, "192.0.2.10"); err != nil || u.Email != "carol@example.com" {
		t.Fatalf("bound invitation by its owner: %v", err)
	}

	// An invitation whose sign-up fails (email taken) is given back.
	again, _ := e.p.CreateInvite(e.ctx, "", nil)
	in.Email = "alice@example.com"
	if _, err := e.p.Signup(e.ctx, in, again.Code, "192.0.2.10"); !errors.Is(err, idp.ErrEmailTaken) {
		t.Fatalf("taken email: %v", err)
	}
	in.Email = "dave@example.com"
	if _, err := e.p.Signup(e.ctx, in, again.Code, "192.0.2.10"); err != nil {
		t.Fatalf("invitation not given back after a failed sign-up: %v", err)
	}

	// Expired invitation.
	old, _ := e.p.CreateInvite(e.ctx, "", nil)
	e.clk.Advance(e.p.InviteLifetime)
	in.Email = "late@example.com"
	if _, err := e.p.Signup(e.ctx, in, old.Code, "192.0.2.10"); !errors.Is(err, idp.ErrInviteInvalid) {
		t.Fatalf("expired invitation: %v", err)
	}
}

// TestInviteSingleUseConcurrent: an invitation used by parallel sign-ups creates exactly one
// account.
func TestInviteSingleUseConcurrent(t *testing.T) {
	e := newEnv(t, func(c *idp.Config) { c.SignupMode = idp.SignupInvite })
	inv, err := e.p.CreateInvite(e.ctx, "", nil)
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
			_, err := e.p.Signup(e.ctx, idp.NewUser{Email: "racer" + string(rune('a'+i)) + "@example.com", Password: "a long enough password"}, inv.Code, "192.0.2.10")
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

// TestSessions: a session is found by its cookie secret only (the store holds the hash),
// ends at logout, and is refused for a disabled user or after its idle lifetime.
func TestSessions(t *testing.T) {
	e := newEnv(t)
	sec, s, err := e.p.StartSession(e.ctx, e.user, []string{"pwd"}, idp.SessionMeta{IP: "192.0.2.1", UserAgent: strings.Repeat("u", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == sec || len(s.UserAgent) > 256 {
		t.Fatalf("session %+v", s)
	}
	if got, u, err := e.p.Session(e.ctx, sec); err != nil || got.ID != s.ID || u.ID != e.user.ID {
		t.Fatalf("Session: %v", err)
	}
	for _, bad := range []string{"", s.ID, sec + "x", strings.Repeat("a", 200)} {
		if _, _, err := e.p.Session(e.ctx, bad); !errors.Is(err, idp.ErrNoSession) {
			t.Fatalf("Session(%.20q) = %v", bad, err)
		}
	}
	e.clk.Advance(2 * time.Minute) // touch: idle expiry moves forward
	if _, _, err := e.p.Session(e.ctx, sec); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(e.p.SessionIdle - time.Minute)
	if _, _, err := e.p.Session(e.ctx, sec); err != nil {
		t.Fatalf("idle expiry not extended by use: %v", err)
	}
	if err := e.p.EndSessionBySecret(e.ctx, sec); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.p.Session(e.ctx, sec); !errors.Is(err, idp.ErrNoSession) {
		t.Fatalf("after logout: %v", err)
	}
	sec2, _, _ := e.p.StartSession(e.ctx, e.user, []string{"pwd"}, idp.SessionMeta{})
	e.clk.Advance(e.p.SessionIdle)
	if _, _, err := e.p.Session(e.ctx, sec2); !errors.Is(err, idp.ErrNoSession) {
		t.Fatalf("idle session: %v", err)
	}
	sec3, _, _ := e.p.StartSession(e.ctx, e.user, []string{"pwd"}, idp.SessionMeta{})
	if _, err := e.p.SetDisabled(e.ctx, e.user.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.p.Session(e.ctx, sec3); !errors.Is(err, idp.ErrNoSession) {
		t.Fatalf("disabled user's session: %v", err)
	}
}
