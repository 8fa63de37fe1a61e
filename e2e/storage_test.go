package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

const lockDirEnv = "GATEHOUSE_E2E_LOCK_DIR"

// TestBadgerLockHelperProcess is not a test: TestBadgerLockAndReload runs the test binary
// again with GATEHOUSE_E2E_LOCK_DIR set, and this function then loads a configuration whose
// store is that directory and prints the outcome.
func TestBadgerLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockDirEnv)
	if dir == "" {
		t.Skip("helper process for TestBadgerLockAndReload")
	}
	tmp := t.TempDir()
	port := freePort(t)
	src := fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	storage file_system %s
	log {
		output discard
	}
	gatehouse {
		issuer http://127.0.0.1:%d
		storage badger %s
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	gatehouse_portal
}
`, filepath.Join(tmp, "caddy"), port, dir, port)
	if err := LoadCaddyfile(src); err != nil {
		fmt.Printf("LOAD-ERROR: %v\n", err)
		return
	}
	fmt.Println("LOAD-OK")
	_ = caddy.Stop()
}

// runLockHelper runs TestBadgerLockHelperProcess in a new process on dir.
func runLockHelper(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBadgerLockHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), lockDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	return string(out)
}

// TestBadgerLockAndReload: Badger locks its directory. A second process configured with the
// same storage path fails to load with an error that names the path (instead of a bare
// Badger lock error or a hang); a config reload in the same process — which provisions the
// new configuration while the old one still runs — shares the open database instead of
// failing on the lock, keeps the data and the signing keys (tokens issued before the reload
// stay valid), and releases the database when Caddy stops, so that another process can then
// open it.
func TestBadgerLockAndReload(t *testing.T) {
	cfg := Config{Gatehouse: AppClient, Sites: AppSite}
	e := Start(t, cfg)
	e.CreateUser("rita@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "rita@example.test", Password)
	at := e.AccessToken(b, "openid email read:docs")

	out := runLockHelper(t, e.Dir)
	if !strings.Contains(out, "LOAD-ERROR:") {
		t.Fatalf("a second process opened the locked store:\n%s", out)
	}
	if !strings.Contains(out, e.Dir) {
		t.Errorf("the lock error does not name the path %s:\n%s", e.Dir, out)
	}

	// Reload with a changed configuration and the same storage path.
	cfg.Gatehouse = `product_name "Reloaded Gatehouse"
		tokens {
			id_token_lifetime 30m
		}` + AppClient
	if err := e.Load(cfg); err != nil {
		t.Fatalf("reload with the same storage path: %v", err)
	}
	b.C.CloseIdleConnections() // Load waited out the old servers (see Env.Load)
	if p := NewBrowser(t).Go(http.MethodGet, e.Issuer+"/login", nil, nil); p.Status != http.StatusOK ||
		!strings.Contains(string(p.Body), "Reloaded Gatehouse") {
		t.Errorf("the reloaded configuration is not in effect: %s", p)
	}
	if r := Get(t, e.App+"/docs", at); r.Status != http.StatusOK {
		t.Errorf("a token issued before the reload: %s", r)
	}
	if r := e.APILogin("rita@example.test", Password); r.Status != http.StatusOK {
		t.Errorf("login after the reload: %s", r)
	}
	if r := e.Admin(http.MethodGet, "/gatehouse/users/rita@example.test", nil); r.Status != http.StatusOK {
		t.Errorf("admin API after the reload: %s", r)
	}
	// The portal session from before the reload still works.
	if r := Do(t, b.C, NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil)); r.Status != http.StatusOK {
		t.Errorf("portal session after the reload: %s", r)
	}

	// Stopping Caddy releases the database (the reload did not leak a reference).
	if err := caddy.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if out := runLockHelper(t, e.Dir); !strings.Contains(out, "LOAD-OK") {
		t.Errorf("after Caddy stopped, another process still cannot open the store:\n%s", out)
	}
}
