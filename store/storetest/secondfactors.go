package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testSecondFactors: one second-factor record per existing user, created once, updated
// atomically (a step or a recovery code is taken by exactly one of concurrent updates),
// removed by itself and with its user.
func testSecondFactors(t *testing.T, newStore func(t *testing.T) store.Store) {
	rec := func() store.SecondFactor {
		return store.SecondFactor{UserID: "u1", TOTPSecret: "sealed", TOTPAddedAt: base, TOTPLastStep: 7,
			RecoveryCodes: []string{"a", "b"}, RecoveryCreatedAt: base, UpdatedAt: base}
	}

	t.Run("record can be created once, read and updated", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		_, err := s.GetSecondFactor(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get before create")
		ok(t, s.CreateSecondFactor(ctx, rec()), "create")
		isErr(t, s.CreateSecondFactor(ctx, rec()), store.ErrAlreadyExists, "create again")
		got, err := s.GetSecondFactor(ctx, "u1")
		ok(t, err, "get")
		same(t, got, rec(), "record")
		got, err = s.UpdateSecondFactor(ctx, "u1", func(f store.SecondFactor) (store.SecondFactor, error) {
			f.TOTPLastStep, f.RecoveryCodes, f.UpdatedAt = 8, f.RecoveryCodes[1:], at(time.Minute)
			return f, nil
		})
		ok(t, err, "update")
		want := rec()
		want.TOTPLastStep, want.RecoveryCodes, want.UpdatedAt = 8, []string{"b"}, at(time.Minute)
		same(t, got, want, "updated record")
		got, err = s.GetSecondFactor(ctx, "u1")
		ok(t, err, "get updated")
		same(t, got, want, "stored updated record")
		_, err = s.UpdateSecondFactor(ctx, "u1", func(f store.SecondFactor) (store.SecondFactor, error) { return f, errBoom })
		isErr(t, err, errBoom, "aborted update")
		_, err = s.UpdateSecondFactor(ctx, "u1", func(f store.SecondFactor) (store.SecondFactor, error) {
			f.UserID = "u2"
			return f, nil
		})
		if err == nil {
			t.Fatal("update that changes the user: no error")
		}
		_, err = s.UpdateSecondFactor(ctx, "nobody", func(f store.SecondFactor) (store.SecondFactor, error) { return f, nil })
		isErr(t, err, store.ErrNotFound, "update of a missing record")
	})

	t.Run("record of a missing user is refused", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		f := rec()
		f.UserID = "nobody"
		isErr(t, s.CreateSecondFactor(ctx, f), store.ErrNotFound, "create")
	})

	t.Run("record goes with delete and with its user", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		ok(t, s.CreateSecondFactor(ctx, rec()), "create")
		ok(t, s.DeleteSecondFactor(ctx, "u1"), "delete")
		_, err := s.GetSecondFactor(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get after delete")
		ok(t, s.DeleteSecondFactor(ctx, "u1"), "delete again")
		ok(t, s.CreateSecondFactor(ctx, rec()), "create after delete")
		ok(t, s.DeleteUser(ctx, "u1"), "delete user")
		_, err = s.GetSecondFactor(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get after the user's deletion")
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create the user again")
		_, err = s.GetSecondFactor(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "a new user of the same ID inherits nothing")
	})

	// RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP after
	// the successful validation has been issued for the first OTP". Verifiers take a step by
	// raising TOTPLastStep in an update that refuses a step not above it: of concurrent
	// updates for the same step exactly one may succeed.
	t.Run("a step is taken by exactly one of concurrent updates", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		ok(t, s.CreateSecondFactor(ctx, rec()), "create")
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range n {
			wg.Go(func() {
				_, err := s.UpdateSecondFactor(ctx, "u1", func(f store.SecondFactor) (store.SecondFactor, error) {
					if f.TOTPLastStep >= 100 {
						return f, errBoom
					}
					f.TOTPLastStep = 100
					return f, nil
				})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent updates took step 100, want exactly 1", wins)
		}
	})
}
