package password_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/password"
)

// TestPasswordLogin: a user logs in with the email in any case and the password; a wrong
// password and an unknown email get the same error (no enumeration); a disabled user is
// told only after the right password.
func TestPasswordLogin(t *testing.T) {
	e := idptest.New(t)
	res, err := e.P.Password.Login(e.Ctx, "ALICE@example.com ", idptest.UserPassword, "192.0.2.1")
	u := res.User
	if err != nil || u.ID != e.User.ID {
		t.Fatalf("login: %v", err)
	}
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := e.P.Password.Login(e.Ctx, "nobody@example.com", idptest.UserPassword, "192.0.2.1"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := e.P.Password.Login(e.Ctx, "not an email", idptest.UserPassword, "192.0.2.1"); err == nil {
		t.Fatal("malformed email accepted")
	}
	// A user created without a password cannot log in with any password.
	nopw, err := e.P.Accounts.Create(e.Ctx, account.NewUser{Email: "nopw@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Password.Login(e.Ctx, nopw.Email, "", "192.0.2.1"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
		t.Fatalf("user without password, empty password: %v", err)
	}
	if _, err := e.P.Accounts.SetDisabled(e.Ctx, e.User.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
		t.Fatalf("disabled, wrong password: %v (must not reveal the state)", err)
	}
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "192.0.2.1"); !errors.Is(err, account.ErrUserDisabled) {
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
			e := idptest.New(t)
			const n = 30
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[string]int{}
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := e.P.Password.Login(e.Ctx, email, "guess-"+string(rune('a'+i)), "192.0.2.1")
					var locked *lockout.LockedError
					key := "other: "
					switch {
					case errors.Is(err, pwlogin.ErrInvalidCredentials):
						key = "evaluated"
					case errors.As(err, &locked):
						key = "locked"
						if locked.RetryAfter <= 0 || locked.RetryAfter > e.P.LockoutWindow {
							key = "bad RetryAfter"
						}
					default:
						key += idptest.ErrString(err)
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
			var locked *lockout.LockedError
			if _, err := e.P.Password.Login(e.Ctx, email, idptest.UserPassword, "192.0.2.1"); !errors.As(err, &locked) {
				t.Fatalf("right password while locked: %v", err)
			}
			if !strings.Contains(locked.Error(), "minute") {
				t.Fatalf("lock message %q", locked.Error())
			}
			e.Clock.Advance(e.P.LockoutWindow)
			_, err := e.P.Password.Login(e.Ctx, email, idptest.UserPassword, "192.0.2.1")
			if email == "alice@example.com" && err != nil {
				t.Fatalf("after the window: %v", err)
			}
			if email != "alice@example.com" && !errors.Is(err, pwlogin.ErrInvalidCredentials) {
				t.Fatalf("unknown user after the window: %v", err)
			}
		})
	}
}

// TestLockoutResetsOnSuccess: a successful login clears the account's failures, so a user
// who mistypes now and then is never locked out; failures are per account.
func TestLockoutResetsOnSuccess(t *testing.T) {
	e := idptest.New(t)
	for round := 0; round < 3; round++ {
		for i := 0; i < 4; i++ {
			if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", "typo", "192.0.2.1"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
				t.Fatalf("round %d failure %d: %v", round, i, err)
			}
		}
		if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "192.0.2.1"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	// Another account's failures do not lock alice.
	for i := 0; i < 10; i++ {
		_, _ = e.P.Password.Login(e.Ctx, "mallory@example.com", "x", "192.0.2.9")
	}
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "192.0.2.1"); err != nil {
		t.Fatalf("alice locked by mallory's failures: %v", err)
	}
	// The account key is the normalised email: case variants share one counter.
	for i := 0; i < 5; i++ {
		_, _ = e.P.Password.Login(e.Ctx, []string{"ALICE@example.com", "alice@EXAMPLE.com", "Alice@Example.Com"}[i%3], "typo", "192.0.2.1")
	}
	var locked *lockout.LockedError
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "192.0.2.1"); !errors.As(err, &locked) {
		t.Fatalf("case variants escaped the account limit: %v", err)
	}
}

// TestLockoutPerIP: CR-03 — one client IP spraying many accounts is stopped by the
// per-IP limit; other IPs are unaffected.
func TestLockoutPerIP(t *testing.T) {
	e := idptest.New(t, func(c *idp.Config) { c.IPMaxFailures = 3 })
	for i := 0; i < 3; i++ {
		email := string(rune('a'+i)) + "@example.com"
		if _, err := e.P.Password.Login(e.Ctx, email, "spray", "203.0.113.7"); !errors.Is(err, pwlogin.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var locked *lockout.LockedError
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "203.0.113.7"); !errors.As(err, &locked) {
		t.Fatalf("fourth account from the same IP: %v", err)
	}
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "198.51.100.1"); err != nil {
		t.Fatalf("another IP: %v", err)
	}
}

// TestPasswordRehashOnLogin: a password stored with older parameters is rehashed with the
// current ones at the next successful login.
func TestPasswordRehashOnLogin(t *testing.T) {
	e := idptest.New(t)
	before, err := e.Store.GetPassword(e.Ctx, e.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.P.Password.Hasher = password.New(password.Params{Memory: 128, Time: 1, Threads: 1}, 0)
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	after, _ := e.Store.GetPassword(e.Ctx, e.User.ID)
	if after.Hash == before.Hash || !strings.Contains(after.Hash, "m=128,t=1,p=1") {
		t.Fatalf("hash not upgraded: %s", after.Hash)
	}
	if _, err := e.P.Password.Login(e.Ctx, "alice@example.com", idptest.UserPassword, "192.0.2.1"); err != nil {
		t.Fatalf("login with the upgraded hash: %v", err)
	}
}
