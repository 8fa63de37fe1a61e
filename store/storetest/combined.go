package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testCombinedWrites: the methods that do in one durable write what a login otherwise does
// in two to four (CreateLatestOneTimeCode, UseOneTimeCode, StartSession,
// UpdatePasskeyConsuming) do all of it or none of it.
func testCombinedWrites(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("several counters are incremented with a code, each in its own window", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		codes := 0
		incrementCounters := func(now time.Time, incs ...store.CounterIncrement) ([]store.CounterValue, error) {
			codes++
			vs, _, err := s.CreateLatestOneTimeCode(ctx, now, oneTimeCode(fmt.Sprint("c", codes), "login"), oneTimeCode("latest", "latest"), incs...)
			return vs, err
		}
		_, _, err := s.IncrementCounter(ctx, "send:ip", 4, time.Hour, base)
		ok(t, err, "earlier increment")
		vs, err := incrementCounters(at(time.Minute),
			store.CounterIncrement{Key: "send:dest", Delta: 1, Window: 15 * time.Minute},
			store.CounterIncrement{Key: "send:ip", Delta: 2, Window: time.Hour})
		ok(t, err, "increment both")
		if len(vs) != 2 || vs[0].Value != 1 || !vs[0].WindowEnd.Equal(at(16*time.Minute)) ||
			vs[1].Value != 6 || !vs[1].WindowEnd.Equal(at(time.Hour)) {
			t.Fatalf("values %+v, want (1, +16m) then (6, +1h): a new window for the new counter, the running one kept", vs)
		}
		n, _, err := s.GetCounter(ctx, "send:dest", at(2*time.Minute))
		ok(t, err, "get")
		if n != 1 {
			t.Fatalf("send:dest = %d, want 1", n)
		}
		// After the windows end both restart.
		vs, err = incrementCounters(at(2*time.Hour),
			store.CounterIncrement{Key: "send:ip", Delta: 1, Window: time.Hour},
			store.CounterIncrement{Key: "send:dest", Delta: 1, Window: time.Minute})
		ok(t, err, "increment after the windows")
		if vs[0].Value != 1 || !vs[0].WindowEnd.Equal(at(3*time.Hour)) || vs[1].Value != 1 {
			t.Fatalf("values after the windows %+v, want both restarted at 1", vs)
		}
		// A repeated key is refused and nothing is counted.
		_, err = incrementCounters(at(2*time.Hour),
			store.CounterIncrement{Key: "send:ip", Delta: 1, Window: time.Hour},
			store.CounterIncrement{Key: "send:ip", Delta: 1, Window: time.Hour})
		if err == nil {
			t.Fatal("a key given twice was accepted")
		}
		if n, _, _ := s.GetCounter(ctx, "send:ip", at(2*time.Hour)); n != 1 {
			t.Fatalf("send:ip = %d after a refused call, want 1", n)
		}
	})

	t.Run("a new code, its latest pointer and its send limits are written together", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		latest := func(flow string) store.OneTimeCode {
			return store.OneTimeCode{ID: "latest", Purpose: "latest", Data: map[string]string{"flow": flow},
				CreatedAt: base, ExpiresAt: at(time.Hour)}
		}
		// Two sends allowed per address, three per IP.
		limits := []store.CounterIncrement{{Key: "send:dest", Delta: 1, Window: time.Hour, Limit: 2},
			{Key: "send:ip", Delta: 1, Window: time.Hour, Limit: 3}}
		create := func(id string, count ...store.CounterIncrement) ([]store.CounterValue, bool, error) {
			return s.CreateLatestOneTimeCode(ctx, base, oneTimeCode(id, "login"), latest(id), count...)
		}
		vs, created, err := create("c1", limits...)
		ok(t, err, "first code")
		if !created || len(vs) != 2 || vs[0].Value != 1 || vs[1].Value != 1 || !vs[0].WindowEnd.Equal(at(time.Hour)) {
			t.Fatalf("first code: created %v, counters %+v", created, vs)
		}
		vs, created, err = create("c2", limits...)
		ok(t, err, "second code")
		if !created || vs[0].Value != 2 {
			t.Fatalf("second code: created %v, counters %+v", created, vs)
		}
		got, err := s.GetOneTimeCode(ctx, "latest")
		ok(t, err, "get pointer")
		same(t, got, latest("c2"), "pointer replaced by the second code")
		_, err = s.GetOneTimeCode(ctx, "c1")
		ok(t, err, "the first code stays (superseded, not deleted)")

		// Over the address's limit: the counters count the attempt, nothing else is stored.
		vs, created, err = create("c3", limits...)
		ok(t, err, "third code")
		if created || vs[0].Value != 3 || vs[1].Value != 3 {
			t.Fatalf("third code over the limit: created %v, counters %+v, want not created and both counted", created, vs)
		}
		_, err = s.GetOneTimeCode(ctx, "c3")
		isErr(t, err, store.ErrNotFound, "code over the limit")
		got, err = s.GetOneTimeCode(ctx, "latest")
		ok(t, err, "get pointer over the limit")
		same(t, got, latest("c2"), "pointer after a code over the limit")
		if n, _, _ := s.GetCounter(ctx, "send:dest", base); n != 3 {
			t.Fatalf("stored send:dest = %d, want 3", n)
		}

		// A taken ID within the limits: nothing changes, counters included.
		other := []store.CounterIncrement{{Key: "send:dest2", Delta: 1, Window: time.Hour, Limit: 2},
			{Key: "send:ip2", Delta: 1, Window: time.Hour, Limit: 3}}
		_, _, err = s.CreateLatestOneTimeCode(ctx, base, oneTimeCode("c1", "other"), latest("c9"), other...)
		isErr(t, err, store.ErrAlreadyExists, "code id taken within the limits")
		for _, k := range []string{"send:dest2", "send:ip2"} {
			if n, _, _ := s.GetCounter(ctx, k, base); n != 0 {
				t.Fatalf("%s = %d after a refused create, want 0", k, n)
			}
		}
		// Only the IP's limit reached (another address, the same IP): not created either.
		vs, created, err = s.CreateLatestOneTimeCode(ctx, base, oneTimeCode("c5", "login"), latest("c5"),
			store.CounterIncrement{Key: "send:dest3", Delta: 1, Window: time.Hour, Limit: 2},
			store.CounterIncrement{Key: "send:ip", Delta: 1, Window: time.Hour, Limit: 3})
		ok(t, err, "code over the IP's limit")
		if created || vs[0].Value != 1 || vs[1].Value != 4 {
			t.Fatalf("code over the IP's limit: created %v, counters %+v, want not created, (1, 4)", created, vs)
		}
		_, err = s.GetOneTimeCode(ctx, "c5")
		isErr(t, err, store.ErrNotFound, "code over the IP's limit")

		// A taken ID over the limits: nothing changes, counters included.
		_, _, err = s.CreateLatestOneTimeCode(ctx, base, oneTimeCode("c2", "other"), latest("c9"), limits...)
		isErr(t, err, store.ErrAlreadyExists, "code id taken")
		_, _, err = s.CreateLatestOneTimeCode(ctx, base, oneTimeCode("c2", "other"), latest("c9"))
		isErr(t, err, store.ErrAlreadyExists, "code id taken, no counters")
		got, err = s.GetOneTimeCode(ctx, "latest")
		ok(t, err, "get pointer after the refusal")
		same(t, got, latest("c2"), "pointer after a refused create")
		if n, _, _ := s.GetCounter(ctx, "send:ip", base); n != 4 {
			t.Fatalf("send:ip = %d after a refused create, want 4", n)
		}
		// Without counters (an administrator's code): always created.
		_, created, err = create("c4")
		ok(t, err, "code without counters")
		if !created {
			t.Fatal("a code without counters was not created")
		}
		list, err := s.ListOneTimeCodes(ctx, "latest", store.ListOptions{})
		ok(t, err, "list pointers")
		if len(list) != 1 {
			t.Fatalf("%d pointers listed, want 1", len(list))
		}
	})

	t.Run("a use counts the attempt and consumes the code only when told to", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "email")), "create")
		var seen []int
		c, consumed, err := s.UseOneTimeCode(ctx, "o1", func(c store.OneTimeCode) bool {
			seen = append(seen, c.Attempts)
			return false // a wrong code
		})
		ok(t, err, "wrong code")
		if consumed || c.Attempts != 1 || len(seen) == 0 || seen[len(seen)-1] != 1 {
			t.Fatalf("wrong code: consumed %v, attempts %d (decide saw %v), want kept with 1", consumed, c.Attempts, seen)
		}
		stored, err := s.GetOneTimeCode(ctx, "o1")
		ok(t, err, "get after a wrong code")
		if stored.Attempts != 1 {
			t.Fatalf("stored attempts %d, want 1", stored.Attempts)
		}
		c, consumed, err = s.UseOneTimeCode(ctx, "o1", func(c store.OneTimeCode) bool { return c.Attempts == 2 })
		ok(t, err, "right code")
		if !consumed || c.Attempts != 2 || c.Data["role"] != "admin" {
			t.Fatalf("right code: consumed %v, record %+v", consumed, c)
		}
		_, err = s.GetOneTimeCode(ctx, "o1")
		isErr(t, err, store.ErrNotFound, "get a consumed code")
		_, _, err = s.UseOneTimeCode(ctx, "o1", func(store.OneTimeCode) bool { return true })
		isErr(t, err, store.ErrNotFound, "use a consumed code")
		list, err := s.ListOneTimeCodes(ctx, "email", store.ListOptions{})
		ok(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("consumed code still listed: %+v", list)
		}
	})

	t.Run("a session starts together with its user's update", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "ada@example.com", "")), "create user")
		ok(t, s.CreateUser(ctx, user("u2", "bob@example.com", "")), "create other user")
		u, err := s.StartSession(ctx, session("s1", "u1"), func(u store.User) (store.User, error) {
			u.LastAuthAt = at(time.Minute)
			return u, nil
		})
		ok(t, err, "start")
		if !u.LastAuthAt.Equal(at(time.Minute)) {
			t.Fatalf("returned user's last authentication %v", u.LastAuthAt)
		}
		got, err := s.GetSession(ctx, "s1")
		ok(t, err, "get session")
		same(t, got, session("s1", "u1"), "session")
		stored, err := s.GetUser(ctx, "u1")
		ok(t, err, "get user")
		if !stored.LastAuthAt.Equal(at(time.Minute)) {
			t.Fatalf("stored last authentication %v", stored.LastAuthAt)
		}
		list, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list sessions")
		if len(list) != 1 {
			t.Fatalf("%d sessions listed, want 1", len(list))
		}

		// Neither is written when one of them is refused.
		refused := errors.New("refused")
		_, err = s.StartSession(ctx, session("s2", "u1"), func(u store.User) (store.User, error) { return u, refused })
		isErr(t, err, refused, "update refused")
		_, err = s.StartSession(ctx, session("s1", "u1"), func(u store.User) (store.User, error) {
			u.LastAuthAt = at(time.Hour)
			return u, nil
		})
		isErr(t, err, store.ErrAlreadyExists, "session id taken")
		_, err = s.StartSession(ctx, session("s3", "u1"), func(u store.User) (store.User, error) {
			u.Email = "bob@example.com"
			return u, nil
		})
		isErr(t, err, store.ErrAlreadyExists, "the user's update takes another user's address")
		_, err = s.StartSession(ctx, session("s4", "nobody"), func(u store.User) (store.User, error) { return u, nil })
		isErr(t, err, store.ErrNotFound, "no such user")
		for _, id := range []string{"s2", "s3", "s4"} {
			_, err := s.GetSession(ctx, id)
			isErr(t, err, store.ErrNotFound, "session of a refused start "+id)
		}
		stored, err = s.GetUser(ctx, "u1")
		ok(t, err, "get user after the refusals")
		if !stored.LastAuthAt.Equal(at(time.Minute)) || stored.Email != "ada@example.com" {
			t.Fatalf("user changed by a refused start: %+v", stored)
		}
		if _, err := s.GetUserByEmail(ctx, "bob@example.com"); err != nil {
			t.Fatalf("the other user's address: %v", err)
		}
	})

	t.Run("a passkey's use and its ceremony's consumption are one write", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, store.User{ID: "pa"}), "create user")
		ok(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred1", UserID: "pa", Credential: json.RawMessage(`{"n":1}`)}), "create passkey")
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("ceremony1", "passkey_login")), "create ceremony")
		use := func(p store.Passkey) (store.Passkey, error) {
			p.UseCount++
			p.LastUsedAt = at(time.Minute)
			return p, nil
		}
		code, pk, err := s.UpdatePasskeyConsuming(ctx, "ceremony1", "cred1", use)
		ok(t, err, "use")
		if code.ID != "ceremony1" || code.Purpose != "passkey_login" || pk.UseCount != 1 {
			t.Fatalf("use returned code %+v, passkey %+v", code, pk)
		}
		_, err = s.GetOneTimeCode(ctx, "ceremony1")
		isErr(t, err, store.ErrNotFound, "the ceremony after its use")
		// The ceremony again (a replayed assertion): nothing changes.
		_, _, err = s.UpdatePasskeyConsuming(ctx, "ceremony1", "cred1", use)
		isErr(t, err, store.ErrNotFound, "replayed ceremony")
		got, err := s.GetPasskey(ctx, "cred1")
		ok(t, err, "get passkey")
		if got.UseCount != 1 {
			t.Fatalf("use count %d after a replay, want 1", got.UseCount)
		}
		// A refused update keeps the ceremony.
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("ceremony2", "passkey_login")), "create ceremony 2")
		refused := errors.New("counter went backwards")
		_, _, err = s.UpdatePasskeyConsuming(ctx, "ceremony2", "cred1", func(p store.Passkey) (store.Passkey, error) { return p, refused })
		isErr(t, err, refused, "refused update")
		_, err = s.GetOneTimeCode(ctx, "ceremony2")
		ok(t, err, "the ceremony after a refused update")
		_, _, err = s.UpdatePasskeyConsuming(ctx, "ceremony2", "nope", use)
		isErr(t, err, store.ErrNotFound, "unknown passkey")
		_, err = s.GetOneTimeCode(ctx, "ceremony2")
		ok(t, err, "the ceremony after an unknown passkey")
	})
}

// testCombinedRaces: the combined writes keep their one-time guarantees under concurrency.
func testCombinedRaces(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("a code used in parallel is counted every time and consumed once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const n = 40
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "email")), "create")
		// The first 9 uses are wrong codes, the next ones right: exactly one consumes it.
		results := race(n, func(int) (string, error) {
			_, consumed, err := s.UseOneTimeCode(ctx, "o1", func(c store.OneTimeCode) bool { return c.Attempts >= 10 })
			return fmt.Sprint(consumed), err
		})
		kept, consumed := 0, 0
		for _, r := range results {
			switch {
			case r.err == nil && r.val == "false":
				kept++
			case r.err == nil:
				consumed++
			case errors.Is(r.err, store.ErrNotFound):
			default:
				t.Fatalf("use: unexpected error %v", r.err)
			}
		}
		if kept != 9 || consumed != 1 {
			t.Fatalf("%d uses kept the code and %d consumed it, want 9 and 1 (no attempt lost, one consumption)", kept, consumed)
		}
	})

	t.Run("a ceremony answered in parallel is consumed once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const rounds, n = 5, 20
		ok(t, s.CreateUser(ctx, store.User{ID: "pa"}), "create user")
		ok(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred1", UserID: "pa"}), "create passkey")
		for round := range rounds {
			id := fmt.Sprintf("ceremony%d", round)
			ok(t, s.CreateOneTimeCode(ctx, oneTimeCode(id, "passkey_login")), "create ceremony")
			results := race(n, func(int) (string, error) {
				_, _, err := s.UpdatePasskeyConsuming(ctx, id, "cred1", func(p store.Passkey) (store.Passkey, error) {
					runtime.Gosched() // let the others reach the same point
					if p.UseCount > round {
						// What a signature-counter check says of a counter that another
						// answer already moved: it must never be asked once the ceremony
						// is gone (a double submission is not a cloned key).
						return p, errors.New("counter went backwards")
					}
					p.UseCount++
					return p, nil
				})
				return "", err
			})
			// Every loser gets ErrNotFound, never its own update's refusal.
			oneWinner(t, fmt.Sprintf("round %d: parallel uses of one ceremony", round), results, store.ErrNotFound)
		}
		if pk, err := s.GetPasskey(ctx, "cred1"); err != nil || pk.UseCount != rounds {
			t.Fatalf("use count %d (%v), want %d: one per ceremony", pk.UseCount, err, rounds)
		}
	})

	t.Run("no counter increment is lost when calls overlap", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const n = 40
		results := race(n, func(i int) (string, error) {
			// Both orders of the same two keys, and one key alone.
			incs := []store.CounterIncrement{{Key: "a", Delta: 1, Window: time.Hour}, {Key: "b", Delta: 1, Window: time.Hour}}
			switch i % 3 {
			case 1:
				incs[0], incs[1] = incs[1], incs[0]
			case 2:
				incs = incs[:1]
			}
			_, _, err := s.CreateLatestOneTimeCode(ctx, base, oneTimeCode(fmt.Sprint("c", i), "login"), oneTimeCode("latest", "latest"), incs...)
			return "", err
		})
		for _, r := range results {
			ok(t, r.err, "increment")
		}
		a, _, err := s.GetCounter(ctx, "a", base)
		ok(t, err, "get a")
		b, _, err := s.GetCounter(ctx, "b", base)
		ok(t, err, "get b")
		var wantB int64
		for i := range n {
			if i%3 != 2 {
				wantB++
			}
		}
		if a != n || b != wantB {
			t.Fatalf("counters a=%d b=%d, want %d and %d", a, b, n, wantB)
		}
	})
}
