package recoverycode

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

func newCodes(t *testing.T) (*Codes, *memory.Store, *time.Time) {
	t.Helper()
	s := memory.New()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if err := s.CreateUser(t.Context(), store.User{ID: "u1", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return &Codes{Store: s, Limiter: &lockout.Limiter{Store: s, Now: clock, Window: 15 * time.Minute}, Now: clock}, s, &now
}

func TestCodesAreRandomFormattedAndStoredHashed(t *testing.T) {
	c, s, _ := newCodes(t)
	codes, err := c.Replace(t.Context(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if len(code) != 19 || code[4] != '-' || code[9] != '-' || code[14] != '-' || strings.ContainsAny(code, "01ilo") {
			t.Fatalf("code %q: want xxxx-xxxx-xxxx-xxxx without look-alikes", code)
		}
		seen[code] = true
	}
	if len(seen) != Count {
		t.Fatalf("%d distinct codes, want %d", len(seen), Count)
	}
	rec, _ := s.GetSecondFactor(t.Context(), "u1")
	for i, h := range rec.RecoveryCodes {
		if h != Hash(codes[i]) || strings.Contains(h, normalize(codes[i])) {
			t.Fatalf("stored %q for code %d, want its SHA-256", h, i)
		}
	}
}

// CR-10: each recovery code works once; case, dashes and spaces do not matter.
func TestCR10_RecoveryCodeWorksOnce(t *testing.T) {
	c, _, _ := newCodes(t)
	ctx := t.Context()
	codes, _ := c.Replace(ctx, "u1")
	u := store.User{ID: "u1"}
	if err := c.Use(ctx, u, strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := c.Use(ctx, u, codes[3]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("second use: %v, want ErrInvalidCode", err)
	}
	if n, _ := c.Remaining(ctx, "u1"); n != Count-1 {
		t.Fatalf("%d left, want %d", n, Count-1)
	}
}

// Of concurrent uses of one code exactly one succeeds.
func TestRecoveryCodeConcurrentUse(t *testing.T) {
	c, _, _ := newCodes(t)
	ctx := t.Context()
	codes, _ := c.Replace(ctx, "u1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 4 {
		wg.Go(func() {
			if c.Use(ctx, store.User{ID: "u1"}, codes[0]) == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent uses succeeded, want 1", wins)
	}
}

// A new set invalidates the old one; it needs a fresh login (CR-19) and a second factor.
func TestCR19_RegenerateReplacesTheSet(t *testing.T) {
	c, s, now := newCodes(t)
	ctx := t.Context()
	sess := store.Session{UserID: "u1", AuthTime: *now}
	if _, err := c.Regenerate(ctx, sess); !errors.Is(err, ErrNoSecondFactor) {
		t.Fatalf("regenerate without a second factor: %v", err)
	}
	if err := s.CreatePasskey(ctx, store.Passkey{ID: "k1", UserID: "u1", CreatedAt: *now}); err != nil {
		t.Fatal(err)
	}
	old, err := c.Regenerate(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	stale := sess
	stale.AuthTime = now.Add(-sessions.FreshLogin - time.Second)
	if _, err := c.Regenerate(ctx, stale); !errors.Is(err, sessions.ErrReauthenticate) {
		t.Fatalf("regenerate with an old login: %v", err)
	}
	fresh, err := c.Regenerate(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Use(ctx, store.User{ID: "u1"}, old[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("old set after regenerating: %v", err)
	}
	if err := c.Use(ctx, store.User{ID: "u1"}, fresh[0]); err != nil {
		t.Fatalf("new set: %v", err)
	}
}

// CR-09: wrong recovery codes count against the second-factor limit.
func TestCR09_RecoveryGuessesAreLimited(t *testing.T) {
	c, _, _ := newCodes(t)
	ctx := t.Context()
	codes, _ := c.Replace(ctx, "u1")
	u := store.User{ID: "u1"}
	for range MaxFailures {
		if err := c.Use(ctx, u, "aaaa-aaaa-aaaa-aaaa"); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	var locked *lockout.LockedError
	if err := c.Use(ctx, u, codes[0]); !errors.As(err, &locked) {
		t.Fatalf("right code past the limit: %v, want *lockout.LockedError", err)
	}
}
