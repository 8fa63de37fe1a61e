package totp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// RFC 6238 Appendix B: the SHA-1 test vectors (seed "12345678901234567890", X = 30,
// T0 = 0, 8 digits). A 6-digit code is the same HOTP value mod 10^6 (RFC 4226 §5.3), so
// it is the vector's last six digits.
func TestRFC6238AppendixBVectors(t *testing.T) {
	seed := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		got, err := Code(seed, v.unix/Period)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.want[2:] {
			t.Errorf("T=%d: code %s, want %s (RFC 6238 Appendix B %s)", v.unix, got, v.want[2:], v.want)
		}
	}
}

type fixture struct {
	m    *Method
	s    *memory.Store
	now  time.Time
	u    store.User
	sess store.Session
	// notices are the security notices sent.
	notices []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{s: memory.New(), now: time.Date(2026, 12, 6, 12, 0, 10, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	lim := &lockout.Limiter{Store: f.s, Now: clock, Window: 15 * time.Minute}
	sm := &sessions.Manager{Store: f.s, Revocations: tokens.NewRevocationList(clock, 0), Now: clock,
		Idle: time.Hour, Lifetime: time.Hour, RevocationTTL: time.Hour}
	f.m = &Method{Store: f.s, Limiter: lim, Recovery: &recoverycode.Codes{Store: f.s, Limiter: lim, Now: clock},
		Key: make([]byte, 32), Issuer: "Gatehouse", Sessions: sm,
		Notify: func(email, notice, _ string) { f.notices = append(f.notices, email+": "+notice) }, Now: clock}
	f.u = store.User{ID: "u1", Email: "ada@example.com", CreatedAt: f.now}
	if err := f.s.CreateUser(t.Context(), f.u); err != nil {
		t.Fatal(err)
	}
	_, sess, err := sm.Start(t.Context(), f.u, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	f.sess = sess
	return f
}

func secretOf(t *testing.T, e Enrolment) []byte {
	t.Helper()
	raw, err := decodeSecret(strings.ReplaceAll(e.Key, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func codeAt(t *testing.T, raw []byte, at time.Time) string {
	t.Helper()
	c, err := Code(raw, at.Unix()/Period)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol adds an authenticator app and returns its secret.
func (f *fixture) enrol(t *testing.T) []byte {
	t.Helper()
	e, err := f.m.BeginEnrol(t.Context(), f.sess, f.u)
	if err != nil {
		t.Fatal(err)
	}
	raw := secretOf(t, e)
	if _, err := f.m.ConfirmEnrol(t.Context(), f.sess, f.u, e.Token, codeAt(t, raw, f.now)); err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestEnrolmentIsActiveOnlyAfterAFirstValidCode(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	e, err := f.m.BeginEnrol(ctx, f.sess, f.u)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.QR) < 8 || string(e.QR[1:4]) != "PNG" {
		t.Fatalf("QR is not a PNG image: % x", e.QR[:min(8, len(e.QR))])
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/") || !strings.Contains(e.URI, "period=30") || !strings.Contains(e.URI, "digits=6") || !strings.Contains(e.URI, "algorithm=SHA1") {
		t.Fatalf("URI %q: want an otpauth://totp URI with SHA1, 6 digits, 30 s", e.URI)
	}
	raw := secretOf(t, e)
	if len(raw) != SecretBytes {
		t.Fatalf("secret of %d bytes, want %d", len(raw), SecretBytes)
	}
	if on, _ := f.m.Enrolled(ctx, "u1"); on {
		t.Fatal("enrolled before the first code")
	}
	if err := f.m.Verify(ctx, f.u, codeAt(t, raw, f.now)); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("verify before confirmation: %v, want ErrNotEnrolled", err)
	}
	if _, err := f.m.ConfirmEnrol(ctx, f.sess, f.u, e.Token, "000000"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	// CR-11: an enrolment is bound to its user.
	other := store.User{ID: "u2"}
	if _, err := f.m.ConfirmEnrol(ctx, store.Session{UserID: "u2", AuthTime: f.now}, other, e.Token, codeAt(t, raw, f.now)); !errors.Is(err, ErrEnrolmentExpired) {
		t.Fatalf("another user confirming the enrolment (CR-11): %v", err)
	}
	codes, err := f.m.ConfirmEnrol(ctx, f.sess, f.u, e.Token, codeAt(t, raw, f.now))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != recoverycode.Count {
		t.Fatalf("%d recovery codes after enabling the first second factor, want %d", len(codes), recoverycode.Count)
	}
	rec, err := f.s.GetSecondFactor(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rec.TOTPSecret, encodeSecret(raw)) || strings.Contains(rec.TOTPSecret, string(raw)) {
		t.Fatal("the stored secret is readable")
	}
	for _, c := range codes {
		for _, h := range rec.RecoveryCodes {
			if strings.Contains(h, c) {
				t.Fatal("a recovery code is stored in the clear")
			}
		}
	}
	// The confirming code's step is used up (RFC 6238 §5.2).
	if err := f.m.Verify(ctx, f.u, codeAt(t, raw, f.now)); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("the confirming code again: %v, want ErrCodeUsed", err)
	}
	if _, err := f.m.ConfirmEnrol(ctx, f.sess, f.u, e.Token, codeAt(t, raw, f.now.Add(30*time.Second))); !errors.Is(err, ErrEnrolmentExpired) {
		t.Fatalf("confirming an enrolment twice: %v", err)
	}
}

// The sealed secret is bound to its user: moved to another user's record it does not open.
func TestSealedSecretMovedToAnotherUserDoesNotOpen(t *testing.T) {
	f := newFixture(t)
	f.enrol(t)
	ctx := t.Context()
	rec, _ := f.s.GetSecondFactor(ctx, "u1")
	mallory := store.User{ID: "u2", Email: "m@example.com"}
	if err := f.s.CreateUser(ctx, mallory); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateSecondFactor(ctx, store.SecondFactor{UserID: "u2", TOTPSecret: rec.TOTPSecret}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Verify(ctx, mallory, "123456"); !errors.Is(err, errSealed) {
		t.Fatalf("verify with a moved secret: %v, want errSealed", err)
	}
}

// RFC 6238 §5.2: "We RECOMMEND that at most one time step is allowed as the network
// delay" — codes of the previous and the next step are accepted, two steps away are not.
func TestRFC6238_5_2_OneStepOfSkewEitherWay(t *testing.T) {
	for _, c := range []struct {
		name  string
		shift time.Duration
		ok    bool
	}{
		{"previous step", -30 * time.Second, true},
		{"next step", 30 * time.Second, true},
		{"two steps back", -60 * time.Second, false},
		{"two steps ahead", 60 * time.Second, false},
		{"ten minutes old", -10 * time.Minute, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			raw := f.enrol(t)
			f.now = f.now.Add(2 * time.Minute) // past the confirming code's step
			err := f.m.Verify(t.Context(), f.u, codeAt(t, raw, f.now.Add(c.shift)))
			if c.ok && err != nil {
				t.Fatalf("code %v away: %v, want accepted", c.shift, err)
			}
			if !c.ok && !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("code %v away: %v, want ErrInvalidCode", c.shift, err)
			}
		})
	}
}

// RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP after the
// successful validation has been issued for the first OTP" (CR-10): the same code in its
// step, and a code of an earlier step after a later one, are refused.
func TestCR10_RFC6238_5_2_CodeAcceptedOnce(t *testing.T) {
	f := newFixture(t)
	raw := f.enrol(t)
	ctx := t.Context()
	f.now = f.now.Add(time.Minute)
	code := codeAt(t, raw, f.now)
	if err := f.m.Verify(ctx, f.u, code); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Verify(ctx, f.u, code); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("same code again: %v, want ErrCodeUsed", err)
	}
	// The next step's code (clock ahead) is used; then the current step's is too old.
	f.now = f.now.Add(30 * time.Second)
	if err := f.m.Verify(ctx, f.u, codeAt(t, raw, f.now.Add(30*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Verify(ctx, f.u, codeAt(t, raw, f.now)); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("an earlier step's code after a later one: %v, want ErrCodeUsed", err)
	}
}

// CR-13: the code is an exact string of six ASCII digits.
func TestCR13_CodeComparisonIsExact(t *testing.T) {
	f := newFixture(t)
	raw := f.enrol(t)
	f.now = f.now.Add(time.Minute)
	good := codeAt(t, raw, f.now)
	fullWidth := ""
	for _, r := range good {
		fullWidth += string(r - '0' + '０')
	}
	for _, bad := range []string{good[1:], "0" + good, good + "0", fullWidth, good[:5] + "６", "", strings.Repeat("9", 1000)} {
		if err := f.m.Verify(t.Context(), f.u, bad); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("code %q: %v, want ErrInvalidCode", bad, err)
		}
		f.s.ResetCounter(t.Context(), recoverycode.LimitKey("u1"))
	}
	if err := f.m.Verify(t.Context(), f.u, " "+good[:3]+" "+good[3:]+" "); err != nil {
		t.Fatalf("the right code with spaces: %v", err)
	}
}

// CR-09 / CR-05: wrong and replayed codes count; past the limit even the right code is
// refused until the window ends, and recovery codes share the same budget.
func TestCR09_GuessesPastTheLimitAreRefused(t *testing.T) {
	f := newFixture(t)
	raw := f.enrol(t)
	ctx := t.Context()
	f.now = f.now.Add(time.Minute)
	used := codeAt(t, raw, f.now)
	if err := f.m.Verify(ctx, f.u, used); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Verify(ctx, f.u, used); !errors.Is(err, ErrCodeUsed) {
		t.Fatal(err)
	}
	for range recoverycode.MaxFailures - 1 {
		if err := f.m.Verify(ctx, f.u, "000000"); !errors.Is(err, ErrInvalidCode) && !errors.Is(err, ErrCodeUsed) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	f.now = f.now.Add(30 * time.Second)
	var locked *lockout.LockedError
	if err := f.m.Verify(ctx, f.u, codeAt(t, raw, f.now)); !errors.As(err, &locked) {
		t.Fatalf("right code past the limit: %v, want *lockout.LockedError", err)
	}
	if err := f.m.Recovery.Use(ctx, f.u, "aaaa-bbbb-cccc-dddd"); !errors.As(err, &locked) {
		t.Fatalf("recovery code past the limit: %v, want *lockout.LockedError", err)
	}
	f.now = f.now.Add(16 * time.Minute)
	if err := f.m.Verify(ctx, f.u, codeAt(t, raw, f.now)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// PX-32: removing the app ends the user's other sessions (this one stays) and tells the
// user's address, as adding it did.
func TestPX32_RemovalEndsOtherSessions(t *testing.T) {
	f := newFixture(t)
	f.enrol(t)
	ctx := t.Context()
	_, other, err := f.m.Sessions.Start(ctx, f.u, []string{"pwd", "otp", "mfa"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Remove(ctx, f.sess); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetSession(ctx, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the other session after removal: %v, want ended", err)
	}
	if _, err := f.s.GetSession(ctx, f.sess.ID); err != nil {
		t.Fatalf("the removing session: %v, want kept", err)
	}
	if len(f.notices) != 2 || !strings.Contains(f.notices[0], "added") || !strings.Contains(f.notices[1], "removed") {
		t.Fatalf("notices %q, want one for the addition and one for the removal", f.notices)
	}
}

// CR-19: adding and removing the app need a fresh login; removal takes the recovery codes
// when no passkey remains.
func TestCR19_ChangesNeedAFreshLogin(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	old := f.sess
	old.AuthTime = f.now.Add(-sessions.FreshLogin - time.Minute)
	if _, err := f.m.BeginEnrol(ctx, old, f.u); !errors.Is(err, sessions.ErrReauthenticate) {
		t.Fatalf("enrol with an old login: %v", err)
	}
	f.enrol(t)
	if _, err := f.m.BeginEnrol(ctx, f.sess, f.u); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Fatalf("second enrolment: %v", err)
	}
	if err := f.m.Remove(ctx, old); !errors.Is(err, sessions.ErrReauthenticate) {
		t.Fatalf("remove with an old login: %v", err)
	}
	if err := f.m.Remove(ctx, f.sess); err != nil {
		t.Fatal(err)
	}
	if on, _ := f.m.Enrolled(ctx, "u1"); on {
		t.Fatal("still enrolled after removal")
	}
	if n, _ := f.m.Recovery.Remaining(ctx, "u1"); n != 0 {
		t.Fatalf("%d recovery codes left without any second factor", n)
	}
	if err := f.m.Remove(ctx, f.sess); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("remove twice: %v", err)
	}
}
