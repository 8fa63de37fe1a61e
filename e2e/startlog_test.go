package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// TestStartLogSaysWhereEverythingIs: on start, one log line names the login portal, the
// protected app and where login codes go (issue 14: a first-time user saw only Caddy's own
// lines and had to guess where the verification code went).
func TestStartLogSaysWhereEverythingIs(t *testing.T) {
	tmp := t.TempDir()
	logFile := filepath.Join(tmp, "caddy.log")
	outbox := filepath.Join(tmp, "outbox.txt")
	portal := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	app := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	src := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system %s
	log {
		output file %s
		level INFO
	}
	gatehouse {
		issuer %s
		storage badger %s
		login password email_code
		email outbox %s
		client app {
			redirect_uri %s/.gatehouse/callback
			scopes openid profile email
		}
	}
}

%s {
	bind 127.0.0.1
	gatehouse_portal
}

%s {
	bind 127.0.0.1
	gatehouse_protect {
		client app
	}
	respond "hello"
}
`, freePort(t), filepath.Join(tmp, "caddy"), logFile, portal, filepath.Join(tmp, "badger"), outbox, app, portal, app)
	if err := LoadCaddyfile(src); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	var line string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && line == ""; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(logFile)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "Gatehouse is running") {
				line = l
			}
		}
	}
	if line == "" {
		b, _ := os.ReadFile(logFile)
		t.Fatalf("no start-up line naming the portal in the log:\n%s", b)
	}
	t.Log(line)
	for _, want := range []string{"login portal " + portal, "protected apps " + app, "login codes and emails go to", outbox} {
		if !strings.Contains(line, want) {
			t.Errorf("start-up line lacks %q:\n%s", want, line)
		}
	}
}
