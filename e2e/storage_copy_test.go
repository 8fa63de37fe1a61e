package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// TestStoreCopyKeepsUsersLoggedIn: a single-node deployment on Badger moves to PostgreSQL
// with `gatehouse store copy` and nobody is logged out. While the server runs, the copy
// refuses (Badger's lock) and says to stop it; once stopped, the copy moves everything, and
// on PostgreSQL the browser that logged in before is still logged in (protected app and
// portal), the access token issued before still works (the signing keys came along), the
// refresh token still rotates, and the user still logs in with the password. A second copy
// into the now non-empty schema is refused. `store export` of the running PostgreSQL store
// imports (`store import`) into a new Badger directory, which exports the same file.
func TestStoreCopyKeepsUsersLoggedIn(t *testing.T) {
	pgtest.Need(t)
	cfg := Config{Gatehouse: AppClient, Sites: AppSite}
	e := Start(t, cfg)
	e.CreateUser("cory@example.test", "staff")
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/docs", "cory@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("browser login on Badger: %s", r)
	}
	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email offline_access read:docs")
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
	if at == "" || rt == "" {
		t.Fatalf("token response: %v", toks)
	}

	storage, schema := pgStorage(t)
	args := []string{"store", "copy", "--from", "badger:" + e.Dir, "--to", "postgres:" + pgtest.DSN(), "--to-schema", schema}
	if _, err := runCLI(t, "", args...); err == nil || !strings.Contains(err.Error(), "stop the Gatehouse server") {
		t.Fatalf("copy while the server runs: %v", err)
	}
	if err := caddy.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := runCLI(t, "", args...); err != nil {
		t.Fatalf("store copy: %v", err)
	}

	cfg.Storage = storage
	if err := e.Load(cfg); err != nil {
		t.Fatalf("start on PostgreSQL: %v", err)
	}
	running := Provider(t).Store
	if w, ok := running.(interface{ Unwrap() store.Store }); ok {
		running = w.Unwrap() // the metrics' timing wrapper (module/metrics.go)
	}
	if _, ok := running.(*postgres.Store); !ok {
		t.Fatalf("the running store is a %T, not PostgreSQL", running)
	}
	b.C.CloseIdleConnections()
	if r := b.Go(http.MethodGet, e.App+"/after-copy", nil, nil); r.Status != http.StatusOK || e.Upstream.Last(t).URI != "/after-copy" {
		t.Fatalf("protected app after the copy: %s", r)
	}
	if r := Do(t, b.C, NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil)); r.Status != http.StatusOK {
		t.Fatalf("portal session after the copy: %s", r)
	}
	if r := Get(t, e.App+"/api", at); r.Status != http.StatusOK {
		t.Fatalf("access token issued before the copy: %s", r)
	}
	if r := e.Refresh("app", rt); r.Status != http.StatusOK {
		t.Fatalf("refresh token issued before the copy: %s", r)
	}
	if r := e.APILogin("cory@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("password login after the copy: %s", r)
	}

	if _, err := runCLI(t, "", args...); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("copy into the populated schema: %v", err)
	}

	// The users export of the running PostgreSQL store imports into a new Badger directory.
	file, err := runCLI(t, "", "store", "export", "--from", "postgres:"+pgtest.DSN(), "--from-schema", schema)
	if err != nil || strings.Count(file, "\n") != 1 || !strings.Contains(file, `"email":"cory@example.test"`) ||
		!strings.Contains(file, `"password_hash":"$argon2id$`) {
		t.Fatalf("store export: (%q, %v)", file, err)
	}
	dir := filepath.Join(t.TempDir(), "imported")
	if _, err := runCLI(t, file, "store", "import", "--to", "badger:"+dir); err != nil {
		t.Fatalf("store import: %v", err)
	}
	again, err := runCLI(t, "", "store", "export", "--from", "badger:"+dir)
	if err != nil || again != file {
		t.Fatalf("export of the imported users differs (%v):\n%s\n%s", err, again, file)
	}
	if _, err := runCLI(t, `{"v":1,"id":"x","email":"not an email"}`+"\n", "store", "import", "--to", "badger:"+dir); err == nil ||
		!strings.Contains(err.Error(), "1 of 1 lines refused") {
		t.Fatalf("import of a bad line: %v", err)
	}
}
