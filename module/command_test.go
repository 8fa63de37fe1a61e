package module

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runUserAdd runs `gatehouse user add` with stdin (not a terminal) against a fake admin API
// and returns the error and the bodies the admin API received.
func runUserAdd(t *testing.T, stdin string, args ...string) (error, []map[string]any) {
	t.Helper()
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		got = append(got, body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"u1"}`))
	}))
	t.Cleanup(srv.Close)
	cmd := &cobra.Command{Use: "user", SilenceUsage: true, SilenceErrors: true}
	userCommands(cmd)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append([]string{"add", "--email", "ann@example.com", "--address", strings.TrimPrefix(srv.URL, "http://")}, args...))
	err := cmd.Execute()
	return err, got
}

// Without a terminal, `user add` used to create the user with no password and exit 0.
func TestUserAddWithoutTerminalRefuses(t *testing.T) {
	err, got := runUserAdd(t, "")
	if err == nil || !strings.Contains(err.Error(), "--password-stdin") || !strings.Contains(err.Error(), "--no-password") {
		t.Fatalf("error = %v, want a refusal naming --password-stdin and --no-password", err)
	}
	if len(got) != 0 {
		t.Fatalf("the admin API was called: %v", got)
	}
}

func TestUserAddPasswordStdin(t *testing.T) {
	err, got := runUserAdd(t, "s3cret-pass\n", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["password"] != "s3cret-pass" {
		t.Fatalf("admin API got %v, want the password from stdin", got)
	}
}

func TestUserAddNoPassword(t *testing.T) {
	err, got := runUserAdd(t, "", "--no-password")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["password"] != "" {
		t.Fatalf("admin API got %v, want one user without a password", got)
	}
	if err, _ := runUserAdd(t, "x\n", "--no-password", "--password-stdin"); err == nil {
		t.Fatal("--no-password with --password-stdin was accepted")
	}
}

// Issue 18, "First admin": "`gatehouse user add --email ... --groups admins` (it must refuse
// to create a password-less admin silently: without a TTY it needs `--password-stdin` or
// `--no-password`)".
func TestUserAddFirstAdmin(t *testing.T) {
	err, got := runUserAdd(t, "", "--groups", "admins")
	if err == nil || !strings.Contains(err.Error(), "--password-stdin") || len(got) != 0 {
		t.Fatalf("admin without a TTY and without a password flag: error %v, admin API got %v; want a refusal and no call", err, got)
	}
	// --password-stdin with nothing piped in is not a password-less admin either.
	if err, got := runUserAdd(t, "", "--groups", "admins", "--password-stdin"); err == nil || len(got) != 0 {
		t.Fatalf("empty stdin: error %v, admin API got %v; want a refusal and no call", err, got)
	}
	err, got = runUserAdd(t, "first-admin-pass\n", "--groups", "admins", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := got[0]["groups"].([]any)
	if len(got) != 1 || got[0]["password"] != "first-admin-pass" || len(groups) != 1 || groups[0] != "admins" {
		t.Fatalf("admin API got %v, want one user in admins with the piped password", got)
	}
	err, got = runUserAdd(t, "", "--groups", "admins", "--no-password")
	if err != nil || len(got) != 1 || got[0]["password"] != "" {
		t.Fatalf("--no-password: error %v, admin API got %v; want one admin created without a password, on purpose", err, got)
	}
}
