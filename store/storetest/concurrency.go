package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// RunConcurrencyTests checks the exactly-once guarantees under concurrent callers.
func RunConcurrencyTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	// Two administrators (maybe on two instances) change a group's data, both holding the
	// same version (If-Match): exactly one wins, the other sees the winner's version and
	// gives up. Creation races the same way: exactly one creator wins.
	t.Run("concurrent group updates on one version: exactly one wins", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const rounds, n = 5, 20
		errStale := errors.New("stale version")
		for round := range rounds {
			name := fmt.Sprintf("g%d", round)
			results := race(n, func(i int) (string, error) {
				want := fmt.Sprintf(`{"by":%d}`, i)
				_, err := s.UpdateGroup(ctx, name, func(old store.Group, exists bool) (*store.Group, error) {
					if exists {
						return nil, errStale // If-Match: the version held was "none"
					}
					return &store.Group{Name: name, CustomData: json.RawMessage(want)}, nil
				})
				return want, err
			})
			winners(t, results, errStale)
			held, err := s.GetGroup(ctx, name)
			ok(t, err, "get the created group")
			created := string(held.CustomData)
			results = race(n, func(i int) (string, error) {
				want := fmt.Sprintf(`{"v":%d}`, i)
				_, err := s.UpdateGroup(ctx, name, func(old store.Group, exists bool) (*store.Group, error) {
					if !exists || string(old.CustomData) != created {
						return nil, errStale
					}
					return &store.Group{Name: name, CustomData: json.RawMessage(want)}, nil
				})
				return want, err
			})
			updated := winners(t, results, errStale)
			if g, err := s.GetGroup(ctx, name); err != nil || compact(g.CustomData) != updated {
				t.Fatalf("round %d: stored %s (%v), the winner wrote %s", round, g.CustomData, err, updated)
			}
		}
	})

	t.Run("a code replayed in parallel is redeemed exactly once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const rounds, n = 5, 50
		for round := range rounds {
			code := fmt.Sprintf("c%d", round)
			ok(t, s.CreateAuthCode(ctx, authCode(code)), "create")
			results := race(n, func(i int) (string, error) {
				c, err := s.RedeemAuthCode(ctx, code, fmt.Sprintf("g%d", i), base)
				return c.GrantID, err
			})
			winner := oneWinner(t, fmt.Sprintf("round %d: concurrent redemptions", round), results, store.ErrAlreadyUsed)
			for _, r := range results {
				if r.err != nil && r.val != winner {
					t.Fatalf("a replay saw grant %q, the winner stored %q", r.val, winner)
				}
			}
			c, err := s.RedeemAuthCode(ctx, code, "late", base)
			isErr(t, err, store.ErrAlreadyUsed, "late replay")
			if c.GrantID != winner {
				t.Fatalf("stored grant %q, winner %q", c.GrantID, winner)
			}
		}
	})

	t.Run("a refresh token used in parallel is rotated exactly once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const rounds, n = 5, 50
		for round := range rounds {
			family, old := fmt.Sprintf("f%d", round), fmt.Sprintf("t%d", round)
			ok(t, s.CreateRefreshToken(ctx, refreshToken(old, family, "u1", "s1")), "create")
			results := race(n, func(i int) (string, error) {
				id := fmt.Sprintf("%s-%d", old, i)
				_, err := s.RotateRefreshToken(ctx, old, refreshToken(id, family, "u1", "s1"), base)
				return id, err
			})
			wins := 0
			for _, r := range results {
				switch {
				case r.err == nil:
					wins++
				case errors.Is(r.err, store.ErrAlreadyUsed):
				default:
					t.Fatalf("rotate: unexpected error %v", r.err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d of %d concurrent rotations succeeded, want exactly 1", round, wins, n)
			}
			stored := 0
			for _, r := range results {
				_, err := s.GetRefreshToken(ctx, r.val)
				switch {
				case err == nil:
					stored++
					if r.err != nil {
						t.Fatalf("successor %s of a refused rotation was stored", r.val)
					}
				case !errors.Is(err, store.ErrNotFound):
					t.Fatalf("get successor: %v", err)
				}
			}
			if stored != 1 {
				t.Fatalf("round %d: %d successors stored, want exactly 1", round, stored)
			}
		}
	})

	t.Run("a one-time code used in parallel is consumed exactly once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const rounds, n = 5, 50
		for round := range rounds {
			id := fmt.Sprintf("o%d", round)
			ok(t, s.CreateOneTimeCode(ctx, oneTimeCode(id, "invite")), "create")
			results := race(n, func(int) (string, error) {
				c, err := s.ConsumeOneTimeCode(ctx, id)
				return c.ID, err
			})
			wins := 0
			for _, r := range results {
				switch {
				case r.err == nil:
					wins++
					if r.val != id {
						t.Fatalf("consume returned %q, want %q", r.val, id)
					}
				case errors.Is(r.err, store.ErrNotFound):
				default:
					t.Fatalf("consume: unexpected error %v", r.err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d of %d concurrent consumptions succeeded, want exactly 1", round, wins, n)
			}
		}
	})

	t.Run("no failed login attempt is lost under load", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const n = 100
		results := race(n, func(int) (string, error) {
			_, _, err := s.IncrementCounter(ctx, "login:ada", 1, time.Hour, base)
			return "", err
		})
		for _, r := range results {
			ok(t, r.err, "increment")
		}
		v, end, err := s.GetCounter(ctx, "login:ada", base)
		ok(t, err, "get")
		if v != n || !end.Equal(at(time.Hour)) {
			t.Fatalf("counter (%d, %v), want (%d, %v)", v, end, n, at(time.Hour))
		}
	})

	t.Run("no failed attempt at a one-time code is lost", func(t *testing.T) {
		// Each wrong guess at an emailed code counts towards its lockout; concurrent
		// read-modify-writes must not overwrite each other's count.
		s, ctx := newStore(t), t.Context()
		const n = 50
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "email")), "create")
		results := race(n, func(int) (string, error) {
			_, err := s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
				runtime.Gosched() // let the others read the same count
				c.Attempts++
				return c, nil
			})
			return "", err
		})
		for _, r := range results {
			ok(t, r.err, "update")
		}
		c, err := s.GetOneTimeCode(ctx, "o1")
		ok(t, err, "get")
		if c.Attempts != n {
			t.Fatalf("%d attempts counted, want %d", c.Attempts, n)
		}
	})

	t.Run("a passkey registered in parallel belongs to exactly one user", func(t *testing.T) {
		// CR-26: one credential ID, registered by several accounts at once.
		s, ctx := newStore(t), t.Context()
		const rounds, n = 5, 20
		for round := range rounds {
			cred := fmt.Sprintf("cred%d", round)
			results := race(n, func(i int) (string, error) {
				uid := fmt.Sprintf("u%d", i)
				return uid, s.CreatePasskey(ctx, store.Passkey{ID: cred, UserID: uid, Name: "Key", CreatedAt: base})
			})
			winner := oneWinner(t, fmt.Sprintf("round %d: concurrent registrations", round), results, store.ErrAlreadyExists)
			p, err := s.GetPasskey(ctx, cred)
			ok(t, err, "get passkey")
			if p.UserID != winner {
				t.Fatalf("passkey belongs to %q, winner %q", p.UserID, winner)
			}
		}
	})

	t.Run("two sign-ups with one email create exactly one account", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		// Several rounds: the window in which two transactions overlap is short.
		const rounds, n = 10, 50
		for round := range rounds {
			email := fmt.Sprintf("ada%d@example.com", round)
			results := race(n, func(i int) (string, error) {
				id := fmt.Sprintf("u%d-%d", round, i)
				return id, s.CreateUser(ctx, user(id, email, ""))
			})
			winner := oneWinner(t, fmt.Sprintf("round %d: concurrent sign-ups", round), results, store.ErrAlreadyExists)
			u, err := s.GetUserByEmail(ctx, email)
			ok(t, err, "get by email")
			if u.ID != winner {
				t.Fatalf("email belongs to %q, winner %q", u.ID, winner)
			}
		}
		list, err := s.ListUsers(ctx, store.ListOptions{})
		ok(t, err, "list")
		if len(list) != rounds {
			t.Fatalf("%d users stored, want %d", len(list), rounds)
		}
	})
	testCombinedRaces(t, newStore)
}

type result struct {
	val string
	err error
}

// race runs fn(0..n-1) in n goroutines released at the same moment and returns the results.
func race(n int, fn func(i int) (string, error)) []result {
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i].val, results[i].err = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

// winners checks that exactly one of results succeeded and every other failed with stale
// (or store.ErrConflict), and returns the winner's value.
func winners(t *testing.T, results []result, stale error) string {
	t.Helper()
	return oneWinner(t, "concurrent updates of one version", results, stale, store.ErrConflict)
}

// oneWinner checks that exactly one of results (of the race what) succeeded and every other
// failed with one of lost, and returns the winner's value.
func oneWinner(t *testing.T, what string, results []result, lost ...error) string {
	t.Helper()
	var winner string
	wins := 0
	for _, r := range results {
		if r.err == nil {
			wins++
			winner = r.val
			continue
		}
		if !slices.ContainsFunc(lost, func(e error) bool { return errors.Is(r.err, e) }) {
			t.Fatalf("%s: unexpected error %v", what, r.err)
		}
	}
	if wins != 1 {
		t.Fatalf("%s: %d of %d succeeded, want exactly 1", what, wins, len(results))
	}
	return winner
}

// compact is data without insignificant space (a store may keep JSON reformatted).
func compact(data []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return string(data)
	}
	return b.String()
}
