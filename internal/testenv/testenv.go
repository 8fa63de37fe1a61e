// Package testenv decides what a test does when an optional tool it needs is missing:
// Node.js and the npm packages that scripts/deps.sh installs under e2e/ (MailDev,
// smtp-server, openid-client, oidc-provider) or Chromium.
//
// By default such a test skips, saying what is missing and which command installs it, so that
// `go test ./...` on a fresh checkout with Go alone passes. With GATEHOUSE_REQUIRE_TOOLS=1 it
// fails instead: scripts/test.sh (which is what CI runs) installs every tool first and sets
// it, so a tool that went missing there is a failure, never a silent skip.
//
// GATEHOUSE_SKIP_NODE=1 and GATEHOUSE_SKIP_BROWSER=1 are explicit opt-outs: they skip the
// tests that need Node.js or Chromium even when the tools are installed, and even with
// GATEHOUSE_REQUIRE_TOOLS=1 (scripts/test.sh says so when they are set).
//
// Only tests import this package.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Environment variables read by this package.
const (
	// RequireTools, set to 1, turns every skip for a missing tool into a failure.
	RequireTools = "GATEHOUSE_REQUIRE_TOOLS"
	// SkipNode, set to 1, skips the tests that need Node.js.
	SkipNode = "GATEHOUSE_SKIP_NODE"
	// SkipBrowser, set to 1, skips the tests that need Chromium.
	SkipBrowser = "GATEHOUSE_SKIP_BROWSER"
)

// installHint is the command that installs every optional tool.
const installHint = "run scripts/deps.sh to install it"

// Missing ends the test because a tool it needs is missing: a skip with the reason, or a
// failure when GATEHOUSE_REQUIRE_TOOLS=1.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	reason := fmt.Sprintf(format, args...)
	if os.Getenv(RequireTools) == "1" {
		tb.Fatalf("%s (%s=1: optional test tools are required here)", reason, RequireTools)
	}
	tb.Skipf("%s (set %s=1 to make this a failure)", reason, RequireTools)
}

// Node returns the path of the node binary, after checking that each of the npm packages
// (directories under dir/node_modules, dir relative to the test's package directory) is
// installed; otherwise it calls Missing. what says what the test needs them for. With
// GATEHOUSE_SKIP_NODE=1 the test skips.
func Node(tb testing.TB, what, dir string, packages ...string) string {
	tb.Helper()
	if os.Getenv(SkipNode) == "1" {
		tb.Skipf("%s=1: %s needs Node.js", SkipNode, what)
	}
	path, err := FindNode(what, dir, packages...)
	if err != nil {
		Missing(tb, "%v", err)
	}
	return path
}

// FindNode is Node without a test: it returns the node binary's path, or an error saying
// what is missing and how to install it.
func FindNode(what, dir string, packages ...string) (string, error) {
	path, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%s needs Node.js >= 20, and node is not on PATH: install Node.js, then run scripts/deps.sh", what)
	}
	for _, pkg := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			return "", fmt.Errorf("%s needs the npm package %s, which is not installed in %s: %s",
				what, pkg, filepath.Join(dir, "node_modules"), installHint)
		}
	}
	return path, nil
}

// Chromium returns the path of Chromium or Chrome; otherwise it calls Missing. With
// GATEHOUSE_SKIP_BROWSER=1 the test skips.
func Chromium(tb testing.TB, what string) string {
	tb.Helper()
	if os.Getenv(SkipBrowser) == "1" {
		tb.Skipf("%s=1: %s needs Chromium", SkipBrowser, what)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(tb, "%s needs Chromium (looked for chromium, chromium-browser, google-chrome on PATH): %s", what, installHint)
	return ""
}
