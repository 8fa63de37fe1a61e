package testenv

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how the test would have ended.
type recorder struct {
	testing.TB
	ended, msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.ended, r.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.ended, r.msg = "fail", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder in a goroutine of its own (Skipf and Fatalf end it).
func run(f func(tb testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// TestMissingSkipsUnlessRequired: a missing tool skips the test with the reason, and fails it
// under GATEHOUSE_REQUIRE_TOOLS=1, so that scripts/test.sh (CI) never skips silently.
func TestMissingSkipsUnlessRequired(t *testing.T) {
	for _, tc := range []struct{ env, want string }{{"", "skip"}, {"0", "skip"}, {"1", "fail"}} {
		t.Setenv(RequireTools, tc.env)
		r := run(func(tb testing.TB) { Missing(tb, "the thing needs %s: run scripts/deps.sh", "a tool") })
		if r.ended != tc.want || !strings.Contains(r.msg, "the thing needs a tool: run scripts/deps.sh") {
			t.Errorf("%s=%q: ended %q with %q, want %s with the reason", RequireTools, tc.env, r.ended, r.msg, tc.want)
		}
	}
}

// TestNodePackages: a package missing from node_modules ends the test naming the package and
// scripts/deps.sh; GATEHOUSE_SKIP_NODE=1 skips even under GATEHOUSE_REQUIRE_TOOLS=1.
func TestNodePackages(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(RequireTools, "1")
	t.Setenv(SkipNode, "")
	r := run(func(tb testing.TB) { Node(tb, "this test", dir, "no-such-package") })
	if r.ended != "fail" || !strings.Contains(r.msg, "scripts/deps.sh") {
		t.Errorf("ended %q with %q", r.ended, r.msg)
	}
	if _, err := FindNode("this test", dir); err == nil && !strings.Contains(r.msg, "no-such-package") {
		// Node.js is installed, so the package is what is missing.
		t.Errorf("message %q does not name the package", r.msg)
	}
	t.Setenv(SkipNode, "1")
	r = run(func(tb testing.TB) { Node(tb, "this test", dir, "no-such-package") })
	if r.ended != "skip" || !strings.Contains(r.msg, SkipNode) {
		t.Errorf("%s=1: ended %q with %q", SkipNode, r.ended, r.msg)
	}
}
