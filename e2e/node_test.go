package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
)

// nodeClients are the relying parties of the openid-client interoperability test. The basic
// client's secret has characters that client_secret_basic must form-encode before Base64
// (RFC 6749 §2.3.1). rp-machine is a confidential machine client (client_credentials only,
// no redirect URI) that may ask for the resource nodeResource as its tokens' audience; it lists
// openid and offline_access among its scopes so that the test proves the grant itself refuses
// them (no user, no refresh token), not merely the client's registration.
const nodeClients = `
		client rp-basic {
			name "openid-client (client_secret_basic)"
			secret "rp+basic/secret:with=specials%41-0123456789"
			redirect_uri {{.RP}}/cb
			post_logout_redirect_uri {{.RP}}/bye
			scopes openid profile email offline_access
		}
		client rp-post {
			name "openid-client (client_secret_post)"
			secret rp-post-secret-0123456789abcdef
			redirect_uri {{.RP}}/cb
			post_logout_redirect_uri {{.RP}}/bye
			scopes openid profile email offline_access
		}
		client rp-public {
			name "openid-client (public)"
			redirect_uri {{.RP}}/cb
			post_logout_redirect_uri {{.RP}}/bye
			scopes openid profile email offline_access
		}
		client rp-machine {
			name "openid-client (client_credentials)"
			secret rp-machine-secret-0123456789abcdef
			grant_types client_credentials
			scopes openid offline_access api:read api:write
			resource ` + nodeResource + `
		}`

// nodeResource is the resource indicator (RFC 8707) registered for rp-machine.
const nodeResource = "https://api.example.test"

// TestOpenIDClientInterop runs e2e/node/openid-client.test.mjs against a running Gatehouse:
// openid-client (panva), the OpenID-certified relying-party library for Node.js, performs
// discovery, the authorization code flow with PKCE for client_secret_basic,
// client_secret_post and public clients, ID token validation, userinfo, refresh-token
// rotation and narrowing, RP-initiated logout, the client credentials grant with resource
// indicators, token introspection and revocation, the claims request parameter (on a profile
// set through the admin API) and an immediate signing-key rotation (through the admin API),
// and rejects forged authorization responses. See the script for the individual tests. Needs
// Node.js ≥ 20 and the packages that scripts/deps.sh installs.
func TestOpenIDClientInterop(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("e2e", "node", "openid-client.test.mjs")
	node := testenv.Node(t, "the openid-client interoperability test", "node", "openid-client")

	e := Start(t, Config{Gatehouse: nodeClients})
	const email = "olive@example.test"
	groups := []string{"staff", "eng"}
	userID := e.CreateUser(email, groups...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"NO_COLOR=1",
		"GATEHOUSE_ISSUER="+e.Issuer,
		"GATEHOUSE_REDIRECT_URI="+e.RP+"/cb",
		"GATEHOUSE_POST_LOGOUT_REDIRECT_URI="+e.RP+"/bye",
		"GATEHOUSE_BASIC_CLIENT_ID=rp-basic",
		"GATEHOUSE_BASIC_CLIENT_SECRET=rp+basic/secret:with=specials%41-0123456789",
		"GATEHOUSE_POST_CLIENT_ID=rp-post",
		"GATEHOUSE_POST_CLIENT_SECRET=rp-post-secret-0123456789abcdef",
		"GATEHOUSE_PUBLIC_CLIENT_ID=rp-public",
		"GATEHOUSE_MACHINE_CLIENT_ID=rp-machine",
		"GATEHOUSE_MACHINE_CLIENT_SECRET=rp-machine-secret-0123456789abcdef",
		"GATEHOUSE_MACHINE_RESOURCE="+nodeResource,
		// Caddy's admin endpoint (the admin API under /gatehouse/): the script sets the user's
		// profile and rotates the signing keys through it.
		"GATEHOUSE_ADMIN_URL=http://"+e.AdminAddr,
		"GATEHOUSE_USER_ID="+userID,
		"GATEHOUSE_USER_EMAIL="+email,
		"GATEHOUSE_USER_PASSWORD="+Password,
		// CreateUser's fixed names.
		"GATEHOUSE_USER_GIVEN_NAME=Ada",
		"GATEHOUSE_USER_FAMILY_NAME=Lovelace",
		"GATEHOUSE_USER_GROUPS="+strings.Join(groups, ","),
	)
	out := &lineLogger{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	out.Flush()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node --test %s did not finish within 2 minutes", script)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("node --test %s failed (exit code %d, %s): see the output above", script, exit.ExitCode(), time.Since(start).Round(time.Millisecond))
		}
		t.Fatalf("node --test %s: %v", script, err)
	}
	t.Logf("node --test %s passed in %s", script, time.Since(start).Round(time.Millisecond))
}

// lineLogger writes each complete line it receives to t.Log (stdout and stderr of a child
// process share one, so their lines stay in order).
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.t.Log(string(bytes.TrimRight(l.buf[:i], "\r")))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// Flush logs a last line without a line end.
func (l *lineLogger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(string(l.buf))
		l.buf = nil
	}
}
