package badger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
)

// crashDirEnv tells the re-executed test binary to play the crashing child.
const crashDirEnv = "GATEHOUSE_BADGER_CRASH_DIR"

var crashNow = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

// TestSecurityWritesSurviveACrash (threat RB-09, crash durability of security writes): a
// child process performs every security-relevant write, reports "done" and is killed with
// SIGKILL without closing the store. Everything acknowledged before "done" must be there
// when the directory is reopened. While the child is alive, the parent also checks that a
// second process cannot open the directory.
func TestSecurityWritesSurviveACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
wait:
	for {
		select {
		case line, open := <-lines:
			if !open {
				t.Fatal("child exited before reporting done")
			}
			if strings.HasPrefix(line, "child error:") {
				t.Fatal(line)
			}
			if line == "done" {
				break wait
			}
		case <-timeout:
			t.Fatal("child did not report done within 30s")
		}
	}

	// Another process holds the directory: Open must refuse, naming it.
	_, err = badger.Open(badger.Options{Path: dir})
	checkLockError(t, err, dir)

	// SIGKILL: no Close, no flush, no deferred function runs in the child.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true
	go func() {
		for range lines { // drain
		}
	}()

	s := openDisk(t, dir)
	defer s.Close()
	ctx := t.Context()

	c, err := s.RedeemAuthCode(ctx, "code-1", "grant-2", crashNow)
	if !errors.Is(err, store.ErrAlreadyUsed) || c.GrantID != "grant-1" {
		t.Fatalf("redeemed code after crash: (%+v, %v), want grant-1 and ErrAlreadyUsed", c.GrantID, err)
	}
	_, err = s.RotateRefreshToken(ctx, "rt-1", store.RefreshToken{ID: "rt-x", FamilyID: "fam-1"}, crashNow)
	if !errors.Is(err, store.ErrAlreadyUsed) {
		t.Fatalf("rotated token after crash: %v, want ErrAlreadyUsed", err)
	}
	if rt, err := s.GetRefreshToken(ctx, "rt-2"); err != nil || rt.Revoked {
		t.Fatalf("successor after crash: (%+v, %v)", rt, err)
	}
	if rt, err := s.GetRefreshToken(ctx, "rt-9"); err != nil || !rt.Revoked {
		t.Fatalf("token of the revoked family after crash: revoked=%v, err=%v", rt.Revoked, err)
	}
	_, err = s.RotateRefreshToken(ctx, "rt-9", store.RefreshToken{ID: "rt-y", FamilyID: "fam-9"}, crashNow)
	if !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("rotate in revoked family after crash: %v, want ErrRevoked", err)
	}
	if rt, err := s.GetRefreshToken(ctx, "rt-5"); err != nil || !rt.Revoked {
		t.Fatalf("token of the logged-out session after crash: revoked=%v, err=%v", rt.Revoked, err)
	}
	if n, _, err := s.GetCounter(ctx, "login:ada", crashNow); err != nil || n != 3 {
		t.Fatalf("counter after crash: (%d, %v), want 3", n, err)
	}
	if _, err := s.GetSession(ctx, "sess-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session after crash: %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx, "sess-3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session deleted by DeleteUserSessions after crash: %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx, "sess-2"); err != nil {
		t.Fatalf("kept session after crash: %v", err)
	}
	if _, err := s.ConsumeOneTimeCode(ctx, "otc-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consumed one-time code after crash: %v, want ErrNotFound", err)
	}
	revs, err := s.ListRevocations(ctx, time.Time{}, crashNow)
	if err != nil || len(revs) != 1 || revs[0].Subject != "sess-1" {
		t.Fatalf("revocations after crash: (%+v, %v)", revs, err)
	}
	if u, err := s.GetUser(ctx, "user-1"); err != nil || !u.Disabled {
		t.Fatalf("disabled user after crash: (%+v, %v)", u, err)
	}
}

// TestCrashChild is the child of TestSecurityWritesSurviveACrash; it does nothing unless
// started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only run as the child of TestSecurityWritesSurviveACrash")
	}
	if err := crashChild(dir); err != nil {
		fmt.Println("child error:", err)
		os.Exit(1)
	}
	fmt.Println("done")
	time.Sleep(time.Minute) // wait for SIGKILL
	os.Exit(1)
}

func crashChild(dir string) error {
	s, err := badger.Open(badger.Options{Path: dir})
	if err != nil {
		return err
	}
	// Deliberately never closed.
	ctx := context.Background()
	now := crashNow
	day := 24 * time.Hour
	steps := []struct {
		name string
		fn   func() error
	}{
		{"create user", func() error { return s.CreateUser(ctx, store.User{ID: "user-1", Email: "ada@example.com"}) }},
		{"disable user", func() error {
			_, err := s.UpdateUser(ctx, "user-1", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil })
			return err
		}},
		{"create code", func() error {
			return s.CreateAuthCode(ctx, store.AuthCode{ID: "code-1", ExpiresAt: now.Add(time.Minute), PurgeAfter: now.Add(time.Hour)})
		}},
		{"redeem code", func() error { _, err := s.RedeemAuthCode(ctx, "code-1", "grant-1", now); return err }},
		{"create token", func() error {
			return s.CreateRefreshToken(ctx, store.RefreshToken{ID: "rt-1", FamilyID: "fam-1", UserID: "user-1", ExpiresAt: now.Add(day), FamilyExpiresAt: now.Add(30 * day)})
		}},
		{"rotate token", func() error {
			_, err := s.RotateRefreshToken(ctx, "rt-1", store.RefreshToken{ID: "rt-2", FamilyID: "fam-1", UserID: "user-1", ExpiresAt: now.Add(day), FamilyExpiresAt: now.Add(30 * day)}, now)
			return err
		}},
		{"create token to revoke", func() error {
			return s.CreateRefreshToken(ctx, store.RefreshToken{ID: "rt-9", FamilyID: "fam-9", UserID: "user-1", ExpiresAt: now.Add(day), FamilyExpiresAt: now.Add(30 * day)})
		}},
		{"revoke family", func() error { return s.RevokeFamily(ctx, "fam-9") }},
		{"create token of session", func() error {
			return s.CreateRefreshToken(ctx, store.RefreshToken{ID: "rt-5", FamilyID: "fam-5", UserID: "user-2", SessionID: "sess-1", ExpiresAt: now.Add(day), FamilyExpiresAt: now.Add(30 * day)})
		}},
		{"increment counter", func() error { _, _, err := s.IncrementCounter(ctx, "login:ada", 3, time.Hour, now); return err }},
		{"create sessions", func() error {
			for _, id := range []string{"sess-1", "sess-2"} {
				if err := s.CreateSession(ctx, store.Session{ID: id, UserID: "user-2", IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(day)}); err != nil {
					return err
				}
			}
			return s.CreateSession(ctx, store.Session{ID: "sess-3", UserID: "user-3", IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(day)})
		}},
		{"logout", func() error { return s.DeleteSession(ctx, "sess-1") }},
		{"revoke session families", func() error { _, err := s.RevokeSessionFamilies(ctx, "sess-1"); return err }},
		{"add revocation", func() error {
			return s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Subject: "sess-1", At: now, ExpiresAt: now.Add(time.Hour)})
		}},
		{"log out everywhere", func() error { _, err := s.DeleteUserSessions(ctx, "user-3"); return err }},
		{"create one-time code", func() error {
			return s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: "otc-1", Purpose: "invite", ExpiresAt: now.Add(day)})
		}},
		{"consume one-time code", func() error { _, err := s.ConsumeOneTimeCode(ctx, "otc-1"); return err }},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}
