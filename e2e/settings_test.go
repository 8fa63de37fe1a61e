//go:build linux

package e2e

// Runtime settings (issue 18, "Runtime configuration, stored"): settings written while the
// server runs take effect on the next request, without a reload, on every instance that
// shares the store; what the Caddyfile sets stays read-only. Every process is the real
// cmd/gatehouse binary.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// settingsInstance is one Gatehouse process with an email sender (the outbox) and a
// Caddyfile-set colour, and no `login` option: the login methods are the store's to set.
const settingsInstance = `{
	admin 127.0.0.1:%[1]d
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system %[2]s/caddy
	log {
		output file %[2]s/caddy.log
		level WARN
	}
	gatehouse {
		issuer %[3]s
		%[4]s
		email outbox %[2]s/outbox.txt
		branding {
			color "#123456"
		}
	}
}

http://:%[5]d {
	bind 127.0.0.1
	gatehouse_portal
}
`

// settingsProcess starts one instance; it returns its admin address and portal URL.
func settingsProcess(t *testing.T, bin, dir, name, issuer, storage string, admin, portal int) (string, string) {
	t.Helper()
	cf := fmt.Sprintf(settingsInstance, admin, filepath.Join(dir, name), issuer, storage, portal)
	url := fmt.Sprintf("http://127.0.0.1:%d", portal)
	startHA(t, bin, dir, name, cf, url+"/.well-known/openid-configuration")
	return fmt.Sprintf("127.0.0.1:%d", admin), url
}

// loginPage returns the body of GET <portal>/login.
func loginPage(t *testing.T, portal string) string {
	t.Helper()
	r, err := haGet(API, portal+"/login", nil)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("GET %s/login: %v, %v", portal, r, err)
	}
	return string(r.Body)
}

// settingsCall sends a request to the admin endpoint's /gatehouse/settings.
func settingsCall(t *testing.T, admin, method string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+admin+"/gatehouse/settings", rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := API.Do(req)
	if err != nil {
		t.Fatalf("%s /gatehouse/settings: %v", method, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	if out == nil {
		out = map[string]any{"raw": string(data)}
	}
	return resp.StatusCode, out
}

const (
	emailCodeButton = "Email me a code"
	magicLinkButton = "Email me a link"
)

// TestSettingsRuntimeBadger: on a single instance on Badger, `gatehouse settings set`
// turns on login by email code and renames the product; the login page shows both at
// the next request, without a reload, and the code page answers; the order of the login
// page follows the stored order; a field the Caddyfile sets is refused, naming it.
func TestSettingsRuntimeBadger(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the gatehouse binary (skipped under -short)")
	}
	dir := t.TempDir()
	bin := buildGatehouse(t, dir)
	adminPort, portalPort := freePort(t), freePort(t)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", portalPort)
	admin, portal := settingsProcess(t, bin, dir, "one", issuer, "storage badger "+filepath.Join(dir, "badger"), adminPort, portalPort)

	page := loginPage(t, portal)
	if strings.Contains(page, emailCodeButton) || strings.Contains(page, "Acme Login") {
		t.Fatal("the login page offers email codes before they were turned on")
	}
	if r, err := haGet(API, portal+"/login/code?channel=email", nil); err != nil || r.Status != http.StatusNotFound {
		t.Fatalf("the email code page before it was turned on: %v, %v (want 404)", r, err)
	}

	cli := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"settings"}, append(args, "--address", admin)...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cli("set", `login.methods=["password","email_code"]`, "branding.product_name=Acme Login"); err != nil {
		t.Fatalf("gatehouse settings set: %v\n%s", err, out)
	}
	page = loginPage(t, portal)
	if !strings.Contains(page, emailCodeButton) || !strings.Contains(page, "Acme Login") {
		t.Fatalf("the login page did not change without a reload:\n%s", page)
	}
	if r, err := haGet(API, portal+"/login/code?channel=email", nil); err != nil || r.Status != http.StatusOK {
		t.Fatalf("the email code page once turned on: %v, %v", r, err)
	}

	// "enabled login methods and their order on the login page".
	if out, err := cli("set", `login.methods=["password","magic_link","email_code"]`); err != nil {
		t.Fatalf("reorder: %v\n%s", err, out)
	}
	page = loginPage(t, portal)
	link, code := strings.Index(page, magicLinkButton), strings.Index(page, emailCodeButton)
	if link < 0 || code < 0 || link > code {
		t.Fatalf("the login page does not follow the stored order (link at %d, code at %d)", link, code)
	}

	// "what the Caddyfile declares is shown read-only ... marked 'set in the Caddyfile'".
	out, err := cli("set", "branding.color=#ffffff")
	if err == nil || !strings.Contains(out, "branding.color") || !strings.Contains(out, "Caddyfile") {
		t.Fatalf("a Caddyfile-set field was written or the refusal does not name it: %v\n%s", err, out)
	}
	status, doc := settingsCall(t, admin, http.MethodGet, nil)
	ro, _ := json.Marshal(doc["from_caddyfile"])
	if status != http.StatusOK || !strings.Contains(string(ro), `"branding.color"`) || strings.Contains(string(ro), "login.methods") {
		t.Fatalf("GET /gatehouse/settings: %d, from_caddyfile %s", status, ro)
	}
	branding, _ := doc["settings"].(map[string]any)["branding"].(map[string]any)
	if branding["color"] != "#123456" || branding["product_name"] != "Acme Login" {
		t.Fatalf("effective branding %v", branding)
	}
}

// TestSettingsTwoInstancesPostgres: issue 18's "take effect on the next request, without a
// reload, on every Gatehouse instance that shares the store". Two processes share one
// PostgreSQL schema; a write through instance A's admin endpoint changes the login page of
// both, B's within seconds (LISTEN/NOTIFY, polling as the fallback). A write naming a
// stale version is refused with 412 (two admins cannot silently overwrite each other), a
// Caddyfile-set field with 400 naming it.
func TestSettingsTwoInstancesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts two gatehouse processes (skipped under -short)")
	}
	storage, _ := pgStorage(t)
	dir := t.TempDir()
	bin := buildGatehouse(t, dir)
	aAdmin, aPortal, bAdmin, bPortal := freePort(t), freePort(t), freePort(t), freePort(t)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", aPortal)
	adminA, portalA := settingsProcess(t, bin, dir, "a", issuer, storage, aAdmin, aPortal)
	adminB, portalB := settingsProcess(t, bin, dir, "b", issuer, storage, bAdmin, bPortal)
	for _, p := range []string{portalA, portalB} {
		if strings.Contains(loginPage(t, p), emailCodeButton) {
			t.Fatalf("%s offers email codes before they were turned on", p)
		}
	}

	status, out := settingsCall(t, adminA, http.MethodPatch, map[string]any{"version": 0,
		"settings": map[string]any{"login": map[string]any{"methods": []string{"password", "email_code"}},
			"branding": map[string]any{"product_name": "Acme Login"}}})
	if status != http.StatusOK {
		t.Fatalf("PATCH through A: %d %v", status, out)
	}
	written := time.Now()
	if page := loginPage(t, portalA); !strings.Contains(page, emailCodeButton) || !strings.Contains(page, "Acme Login") {
		t.Fatal("instance A did not apply its own write at once")
	}
	deadline := written.Add(15 * time.Second)
	for {
		page := loginPage(t, portalB)
		if strings.Contains(page, emailCodeButton) && strings.Contains(page, "Acme Login") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance B's login page did not change within 15s without a reload:\n%s", page)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("instance B showed the setting written through A after %v", time.Since(written).Round(time.Millisecond))

	// B, still holding version 0, is refused: the write through A would be lost.
	status, out = settingsCall(t, adminB, http.MethodPatch, map[string]any{"version": 0,
		"settings": map[string]any{"branding": map[string]any{"product_name": "Other"}}})
	if status != http.StatusPreconditionFailed {
		t.Fatalf("a write naming a stale version: %d %v, want 412", status, out)
	}
	status, out = settingsCall(t, adminB, http.MethodPatch, map[string]any{"version": 1,
		"settings": map[string]any{"branding": map[string]any{"color": "#ffffff"}}})
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "branding.color") {
		t.Fatalf("a write to a Caddyfile-set field: %d %v, want 400 naming branding.color", status, out)
	}
	if page := loginPage(t, portalA); !strings.Contains(page, "Acme Login") {
		t.Fatal("a refused write changed the product name")
	}
}
