package badger

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The in-process key locks hide badger's conflict detection from the conformance suite.
// This test bypasses them: concurrent read-modify-writes of one key through s.update alone
// must neither lose an update nor report success for a transaction that did not commit.
func TestConflictingTransactionsAreRetried(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := []byte("test/counter")
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded, conflicts, calls := 0, 0, 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := s.update(t.Context(), func(txn *badger.Txn) error {
					mu.Lock()
					calls++
					mu.Unlock()
					var n int
					if err := get(txn, k, &n); err != nil && !errors.Is(err, store.ErrNotFound) {
						return err
					}
					return put(txn, k, n+1, zeroTime)
				})
				mu.Lock()
				switch {
				case err == nil:
					succeeded++
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					t.Errorf("update: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var n int
	if err := s.view(t.Context(), func(txn *badger.Txn) error { return get(txn, k, &n) }); err != nil {
		t.Fatal(err)
	}
	if n != succeeded {
		t.Fatalf("counter %d, but %d updates reported success (%d gave up with ErrConflict)", n, succeeded, conflicts)
	}
	t.Logf("%d updates committed in %d attempts; %d gave up after %d attempts", succeeded, calls, conflicts, maxAttempts)
}

// A transaction that always conflicts gives up with store.ErrConflict after maxAttempts.
func TestEndlessConflictEndsWithErrConflict(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := []byte("test/k")
	attempts := 0
	err = s.update(t.Context(), func(txn *badger.Txn) error {
		attempts++
		if _, err := txn.Get(k); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		// A concurrent writer commits the key this transaction just read.
		if err := s.db.Update(func(other *badger.Txn) error {
			return other.Set(k, []byte(strconv.Itoa(attempts)))
		}); err != nil {
			return err
		}
		return txn.Set(k, []byte("mine"))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	if attempts != maxAttempts {
		t.Fatalf("%d attempts, want %d", attempts, maxAttempts)
	}
}

func TestExpiresAt(t *testing.T) {
	for _, c := range []struct {
		in   time.Time
		want uint64
	}{
		{time.Time{}, 0}, // no TTL, never "expired"
		{time.Unix(1000, 0), 1000},
		{time.Unix(1000, 1), 1001}, // rounded up: never purged before the expiry
		{time.Unix(0, 0), 1},       // at or before the epoch: already expired
		{time.Unix(-5, 0), 1},
	} {
		if got := expiresAt(c.in); got != c.want {
			t.Errorf("expiresAt(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// Expired records disappear by TTL, and their index entries with them.
func TestExpiredRecordsDisappearWithTheirIndexes(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	past := time.Now().Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	for _, se := range []store.Session{
		{ID: "old", UserID: "u1", IdleExpiresAt: past, AbsoluteExpiresAt: future},
		{ID: "live", UserID: "u1", IdleExpiresAt: future, AbsoluteExpiresAt: future},
		{ID: "no-idle", UserID: "u1", AbsoluteExpiresAt: future},
	} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetSession(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	list, err := s.ListUserSessions(ctx, "u1")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: (%+v, %v), want the two live sessions", list, err)
	}
	var indexed []string
	if err := s.view(ctx, func(txn *badger.Txn) (err error) {
		indexed, err = indexIDs(txn, indexPrefix(pUserSession, "u1"), 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(indexed) != 2 {
		t.Fatalf("index entries %q, want the two live sessions", indexed)
	}

	if err := s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: "o1", Purpose: "invite", ExpiresAt: past}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.ListOneTimeCodes(ctx, "invite", store.ListOptions{}); err != nil || len(l) != 0 {
		t.Fatalf("expired one-time code listed: (%+v, %v)", l, err)
	}
	// A counter whose window ended restarts even though its record is gone by TTL.
	if _, _, err := s.IncrementCounter(ctx, "k", 5, -time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.IncrementCounter(ctx, "k", 1, time.Minute, time.Now()); err != nil || n != 1 {
		t.Fatalf("counter after its window: (%d, %v), want 1", n, err)
	}
}

// Composite keys stay unambiguous whatever the IDs contain.
func TestIndexKeysDoNotCollide(t *testing.T) {
	a := string(indexKey(pUserSession, "u1/x", "s"))
	b := string(indexKey(pUserSession, "u1", "x/s"))
	if a == b {
		t.Fatalf("keys collide: %q", a)
	}
	p := string(indexPrefix(pUserSession, "u1"))
	if len(a) >= len(p) && a[:len(p)] == p {
		t.Fatalf("prefix of u1 %q matches a key of u1/x %q", p, a)
	}
}
