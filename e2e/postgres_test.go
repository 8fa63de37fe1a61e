package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// pgStorage is the storage line of a Gatehouse on PostgreSQL, in a schema of the test's
// own; the DSN comes from the environment, as in production ({env.DATABASE_URL}).
func pgStorage(t *testing.T) (storage, schema string) {
	t.Helper()
	schema = pgtest.Schema(t)
	t.Setenv("GATEHOUSE_E2E_DATABASE_URL", pgtest.DSN())
	return "storage postgres {env.GATEHOUSE_E2E_DATABASE_URL} {\n\t\t\tschema " + schema + "\n\t\t}", schema
}

// TestPostgresStorage: the whole product runs on PostgreSQL. The schema is created and
// migrated at start from a DSN given as a placeholder; a user created through the admin API
// logs in with a browser at a protected app; the app's client exchanges a code and rotates
// its refresh token at /token, and a replay of the rotated token revokes the family (the
// successor stops working too); disabling the user through the admin API ends the bearer
// token at once (the revocation list read back from PostgreSQL); a reload keeps sessions
// and keys (the pool is shared by the two configurations); `gatehouse store migrate
// --dry-run` then finds nothing to do, and prints the schema for an empty one.
func TestPostgresStorage(t *testing.T) {
	storage, schema := pgStorage(t)
	cfg := Config{Gatehouse: AppClient, Sites: AppSite, Storage: storage}
	e := Start(t, cfg)
	running := Provider(t).Store
	if w, ok := running.(interface{ Unwrap() store.Store }); ok {
		running = w.Unwrap() // the metrics' timing wrapper (module/metrics.go)
	}
	st, ok := running.(*postgres.Store)
	if !ok {
		t.Fatalf("the running store is a %T, not PostgreSQL", Provider(t).Store)
	}

	id := e.CreateUser("pat@example.test", "staff")
	if u, err := st.GetUser(Ctx(t), id); err != nil || u.Email != "pat@example.test" {
		t.Fatalf("user in PostgreSQL: (%+v, %v)", u, err)
	}

	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/docs", "pat@example.test", Password); r.Status != http.StatusOK || e.Upstream.Last(t).URI != "/docs" {
		t.Fatalf("browser login to the protected app: %s", r)
	}
	if ss, err := st.ListUserSessions(Ctx(t), id); err != nil || len(ss) == 0 {
		t.Fatalf("sessions in PostgreSQL: (%d, %v)", len(ss), err)
	}

	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email offline_access read:docs")
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
	if at == "" || rt == "" {
		t.Fatalf("token response: %v", toks)
	}
	if r := Get(t, e.App+"/api", at); r.Status != http.StatusOK {
		t.Fatalf("bearer token at the app: %s", r)
	}
	r := e.Refresh("app", rt)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	rt2 := r.JSON(t)["refresh_token"].(string)
	if rt2 == "" || rt2 == rt {
		t.Fatalf("refresh did not rotate: %s", r)
	}
	// Replaying the rotated token is refused and revokes the family.
	if r := e.Refresh("app", rt); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_grant" {
		t.Fatalf("replay of the rotated refresh token: %s", r)
	}
	if r := e.Refresh("app", rt2); r.Status != http.StatusBadRequest {
		t.Fatalf("successor after a replay: %s", r)
	}

	// A reload shares the open pool: the browser stays logged in.
	if err := e.Load(cfg); err != nil {
		t.Fatalf("reload: %v", err)
	}
	b.C.CloseIdleConnections()
	if r := b.Go(http.MethodGet, e.App+"/after-reload", nil, nil); r.Status != http.StatusOK || e.Upstream.Last(t).URI != "/after-reload" {
		t.Fatalf("protected app after a reload: %s", r)
	}

	// Disabling the user ends its tokens at once.
	at2 := e.AccessToken(b, "openid read:docs")
	if r := e.Admin(http.MethodPost, "/gatehouse/users/"+id+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %s", r)
	}
	if r := Get(t, e.App+"/api", at2); r.Status != http.StatusUnauthorized {
		t.Fatalf("bearer after disable: %s", r)
	}
	revs, err := st.ListRevocations(Ctx(t), time.Time{}, time.Now())
	if err != nil || len(revs) == 0 {
		t.Fatalf("revocations in PostgreSQL: (%+v, %v)", revs, err)
	}

	// Nothing left to migrate; an empty schema needs the whole schema.
	out, err := runCLI(t, "", "store", "migrate", "--dry-run", "--dsn", pgtest.DSN(), "--schema", schema)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("store migrate --dry-run on the running schema: (%q, %v)", out, err)
	}
	out, err = runCLI(t, "", "store", "migrate", "--dry-run", "--dsn", pgtest.DSN(), "--schema", pgtest.Schema(t))
	if err != nil || !strings.Contains(out, "-- migration 0001_init") || !strings.Contains(out, "CREATE TABLE users") {
		t.Fatalf("store migrate --dry-run on an empty schema: (%.200q, %v)", out, err)
	}
}
