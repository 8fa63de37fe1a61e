package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// help runs `gatehouse <args> --help` the way main does and returns what it printed.
func help(t *testing.T, args ...string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldArgs := os.Stdout, os.Args
	os.Stdout, os.Args = w, append([]string{"gatehouse"}, append(args, "--help")...)
	defer func() { os.Stdout, os.Args = oldOut, oldArgs }()
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	setup()
	caddycmd.Main()
	w.Close()
	return string(<-done)
}

// Help of Gatehouse's own commands said "Usage: caddy user ..." and sent the reader to Caddy's
// website for their documentation.
func TestOwnCommandsHelp(t *testing.T) {
	for _, args := range [][]string{{"user"}, {"user", "add"}, {"invite"}, {"keys"}, {"hash-secret"}, {"store", "migrate"}} {
		out := help(t, args...)
		want := "gatehouse " + strings.Join(args, " ")
		if !strings.Contains(out, want) || strings.Contains(out, "caddy "+args[0]) {
			t.Errorf("%v --help does not show %q as the usage:\n%s", args, want, out)
		}
		if strings.Contains(out, "caddyserver.com") {
			t.Errorf("%v --help points at Caddy's website:\n%s", args, out)
		}
		if !bytes.Contains([]byte(out), []byte("README.md")) {
			t.Errorf("%v --help does not say where Gatehouse's documentation is:\n%s", args, out)
		}
	}
	if out := help(t); !strings.Contains(out, "gatehouse run") || !strings.Contains(out, "Gatehouse") {
		t.Errorf("gatehouse --help:\n%s", out)
	}
}
