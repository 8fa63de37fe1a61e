package badger_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

func openDisk(t testing.TB, dir string) *badger.Store {
	t.Helper()
	s, err := badger.Open(badger.Options{Path: dir, Logger: testLogger{t}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func newDiskStore(t *testing.T) store.Store {
	s := openDisk(t, t.TempDir())
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func newMemStore(t *testing.T) store.Store {
	s, err := badger.Open(badger.Options{InMemory: true, Logger: testLogger{t}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformanceOnDisk(t *testing.T) {
	t.Parallel()
	storetest.RunTests(t, newDiskStore)
}

func TestConformanceInMemory(t *testing.T) {
	t.Parallel()
	storetest.RunTests(t, newMemStore)
}

func TestConcurrencyOnDisk(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrencyTests(t, newDiskStore)
}

func TestConcurrencyInMemory(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrencyTests(t, newMemStore)
}

func TestDefaultDir(t *testing.T) {
	got := badger.DefaultDir("/var/lib/caddy")
	if want := filepath.Join("/var/lib/caddy", "gatehouse", "badger"); got != want {
		t.Fatalf("DefaultDir = %q, want %q", got, want)
	}
}

func TestOpenWithoutPathFails(t *testing.T) {
	if _, err := badger.Open(badger.Options{}); err == nil {
		t.Fatal("Open without a path: no error")
	}
}

// A second Gatehouse on the same directory must be refused with an error that tells the
// operator which directory and why. Badger's flock is per open file description, so a
// second Open in the same process hits the same lock as another process would (the crash
// test below also checks it from another process).
func TestSecondOpenOfADirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	defer s.Close()
	_, err := badger.Open(badger.Options{Path: dir})
	checkLockError(t, err, dir)

	// Once the first store is closed the directory can be opened again.
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s2 := openDisk(t, dir)
	if err := s2.Close(); err != nil {
		t.Fatalf("close reopened: %v", err)
	}
}

func checkLockError(t *testing.T, err error, dir string) {
	t.Helper()
	if err == nil {
		t.Fatal("second Open of a locked directory: no error")
	}
	if !errors.Is(err, badger.ErrLocked) {
		t.Fatalf("error %q does not match ErrLocked", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, dir) || !strings.Contains(msg, "another Gatehouse/Caddy process") {
		t.Fatalf("error %q does not name the directory and the other process", msg)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	s := openDisk(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	_, err := s.GetUser(t.Context(), "u1")
	if !errors.Is(err, badger.ErrClosed) {
		t.Fatalf("get after close: %v, want ErrClosed", err)
	}
	if err := s.CreateUser(t.Context(), store.User{ID: "u1"}); !errors.Is(err, badger.ErrClosed) {
		t.Fatalf("create after close: %v, want ErrClosed", err)
	}
}

func TestRunGCStopsWithContext(t *testing.T) {
	s := openDisk(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		s.RunGC(ctx, 1) // ticks as fast as possible: nothing to collect, must not fail
		close(done)
	}()
	for i := range 50 {
		if err := s.CreateUser(t.Context(), store.User{ID: string(rune('a'+i%26)) + string(rune('a'+i/26))}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
}

// testLogger sends badger's messages to the test log, so a failing test shows them.
type testLogger struct{ t testing.TB }

func (l testLogger) Errorf(f string, a ...any)   { l.t.Logf("ERROR: "+f, a...) }
func (l testLogger) Warningf(f string, a ...any) { l.t.Logf("WARNING: "+f, a...) }
func (l testLogger) Infof(f string, a ...any)    { l.t.Logf("INFO: "+f, a...) }
func (l testLogger) Debugf(string, ...any)       {}

// A zero expiry means "no expiry": such records must not vanish (badger treats a TTL of
// 0 as none, and the store must never turn a zero time into "already expired").
func TestRecordsWithoutExpiryAreKept(t *testing.T) {
	s := newDiskStore(t)
	ctx := t.Context()
	if err := s.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAuthCode(ctx, store.AuthCode{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRefreshToken(ctx, store.RefreshToken{ID: "t1", FamilyID: "f1", UserID: "u1", SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: "o1", Purpose: "invite"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "s1"); err != nil {
		t.Fatalf("session: %v", err)
	}
	if l, err := s.ListUserSessions(ctx, "u1"); err != nil || len(l) != 1 {
		t.Fatalf("session index: (%d, %v)", len(l), err)
	}
	if _, err := s.RedeemAuthCode(ctx, "c1", "g1", time.Time{}); err != nil {
		t.Fatalf("code: %v", err)
	}
	// Redeemed with a zero time, the code must still count as used.
	if _, err := s.RedeemAuthCode(ctx, "c1", "g2", time.Time{}); !errors.Is(err, store.ErrAlreadyUsed) {
		t.Fatalf("second redeem with zero time: %v, want ErrAlreadyUsed", err)
	}
	if _, err := s.RotateRefreshToken(ctx, "t1", store.RefreshToken{ID: "t2"}, time.Time{}); err != nil {
		t.Fatalf("token: %v", err)
	}
	if _, err := s.RotateRefreshToken(ctx, "t1", store.RefreshToken{ID: "t3"}, time.Time{}); !errors.Is(err, store.ErrAlreadyUsed) {
		t.Fatalf("second rotation with zero time: %v, want ErrAlreadyUsed", err)
	}
	if ids, err := s.RevokeSessionFamilies(ctx, "s1"); err != nil || len(ids) != 1 {
		t.Fatalf("family index: (%q, %v)", ids, err)
	}
	if l, err := s.ListOneTimeCodes(ctx, "invite", store.ListOptions{}); err != nil || len(l) != 1 {
		t.Fatalf("one-time code: (%d, %v)", len(l), err)
	}
}
