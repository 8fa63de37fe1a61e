package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
)

// TestOpenIDClientDynamicRegistration (CR-05) runs e2e/node/registration.test.mjs:
// openid-client's dynamicClientRegistration() against `registration open` with an initial
// access token — refused without it or with a wrong one, invalid_redirect_uri for a cleartext
// redirect URI, and a registered confidential client that gets tokens at once with the
// issued secret (client credentials, introspection) and reads its registration (RFC 7592);
// a registered web client's code flow stops at the consent page (a registered client is a
// third party): Deny answers access_denied, Allow gives a code the library exchanges.
func TestOpenIDClientDynamicRegistration(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("e2e", "node", "registration.test.mjs")
	node := testenv.Node(t, "the openid-client registration test", "node", "openid-client")
	const iat = "node-initial-access-token-0123456789abcdef"
	t.Setenv("GH_E2E_NODE_IAT", iat)
	e := Start(t, Config{Gatehouse: `
		registration open {
			initial_access_token {env.GH_E2E_NODE_IAT}
		}`})
	const email = "node-dcr@example.test"
	e.CreateUser(email)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "GATEHOUSE_ISSUER="+e.Issuer,
		"GATEHOUSE_INITIAL_ACCESS_TOKEN="+iat, "GATEHOUSE_REDIRECT_URI="+e.RP+"/cb",
		"GATEHOUSE_USER_EMAIL="+email, "GATEHOUSE_USER_PASSWORD="+Password)
	out := &lineLogger{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	out.Flush()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node --test %s did not finish within 2 minutes", script)
	case errors.As(err, &exit):
		t.Fatalf("node --test %s failed (exit code %d): see the output above", script, exit.ExitCode())
	case err != nil:
		t.Fatalf("node --test %s: %v", script, err)
	}
}
