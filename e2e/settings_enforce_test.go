//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSettingsMethodsEnforced: issue 18's login preferences "take effect on the next
// request, without a reload" — on the server, not only on the login page. On the real
// binary, once `gatehouse settings set` takes email codes, magic links and passkeys out of
// login.methods, a client posting straight to their endpoints (as an attacker or a stale
// page would) is refused at every step: a code sent before no longer logs in, no new code
// or link is sent, the passkey ceremony neither begins nor finishes. Turned back on, email
// codes log in again.
func TestSettingsMethodsEnforced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the gatehouse binary (skipped under -short)")
	}
	dir := t.TempDir()
	bin := buildGatehouse(t, dir)
	adminPort, portalPort := freePort(t), freePort(t)
	// A domain name as the issuer's host: passkeys are available.
	issuer := fmt.Sprintf("http://localhost:%d", portalPort)
	admin, portal := settingsProcess(t, bin, dir, "one", issuer, "storage badger "+filepath.Join(dir, "badger"), adminPort, portalPort)
	outbox := filepath.Join(dir, "one", "outbox.txt")
	const email = "erin@example.test"

	cli := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--address", admin)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cli(Password+"\n", "user", "add", "--email", email, "--password-stdin")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	post := func(path, body string) (int, string, bool) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, portal+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		session := false
		for _, ck := range resp.Cookies() {
			session = session || (strings.Contains(ck.Name, "session") && ck.MaxAge >= 0 && ck.Value != "")
		}
		return resp.StatusCode, e.Error + " " + string(data), session
	}
	codeRe := regexp.MustCompile(`\b\d{6}\b`)
	lastCode := func() string {
		t.Helper()
		body, err := outboxMessage(outbox, "login_code", email, nil, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return codeRe.FindString(body)
	}
	sent := func() int {
		data, _ := os.ReadFile(outbox)
		return strings.Count(string(data), "To: "+email+"\n")
	}

	cli("", "settings", "set", `login.methods=["password","email_code","magic_link","passkey"]`)
	if st, body, _ := post("/api/v1/login/email-code/start", `{"email":"`+email+`"}`); st != http.StatusAccepted {
		t.Fatalf("email code while on: %d %s", st, body)
	}
	code := lastCode()
	if st, body, _ := post("/api/v1/passkeys/login/begin", `{}`); st != http.StatusOK {
		t.Fatalf("passkey begin while on: %d %s", st, body)
	}
	before := sent()

	cli("", "settings", "set", `login.methods=["password"]`)
	if st, body, session := post("/api/v1/login/code/verify", `{"code":"`+code+`"}`); st != http.StatusNotFound || !strings.HasPrefix(body, "method_disabled") || session {
		t.Fatalf("a code sent before email codes were turned off: %d %s (session %v), want 404 method_disabled and no session", st, body, session)
	}
	for _, c := range []struct{ path, body string }{
		{"/api/v1/login/email-code/start", `{"email":"` + email + `"}`},
		{"/api/v1/login/magic-link/start", `{"email":"` + email + `"}`},
		{"/api/v1/passkeys/login/begin", `{}`},
		{"/api/v1/passkeys/login/begin", `{"email":"` + email + `"}`},
		{"/api/v1/passkeys/login/finish", `{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}}`},
	} {
		if st, body, session := post(c.path, c.body); st != http.StatusNotFound || !strings.HasPrefix(body, "method_disabled") || session {
			t.Errorf("POST %s %s once off: %d %s, want 404 method_disabled", c.path, c.body, st, body)
		}
	}
	time.Sleep(200 * time.Millisecond) // the outbox is written asynchronously
	if n := sent() - before; n != 0 {
		t.Fatalf("%d messages sent while the methods were off", n)
	}

	cli("", "settings", "set", `login.methods=["password","email_code"]`)
	if st, body, _ := post("/api/v1/login/email-code/start", `{"email":"`+email+`"}`); st != http.StatusAccepted {
		t.Fatalf("email code once back on: %d %s", st, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sent() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st, body, session := post("/api/v1/login/code/verify", `{"code":"`+lastCode()+`"}`); st != http.StatusOK || !session {
		t.Fatalf("email code login once back on: %d %s (session %v)", st, body, session)
	}
}
