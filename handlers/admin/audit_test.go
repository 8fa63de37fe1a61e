package admin

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// newAuditEnv is newEnv with the audit trail on a real (memory) store, recorded by the
// identity core and by the API, and exported by it.
func newAuditEnv(t *testing.T) (*env, store.Store) {
	t.Helper()
	s := memory.New()
	trail := &audit.Trail{Store: s, Retain: audit.DefaultRetain}
	e := idptest.NewOn(t, s, nil, func(c *idp.Config) { c.Audit = trail })
	h := New(func() (*Backend, error) {
		return &Backend{Accounts: e.P.Accounts, Invites: e.P.Signup, Identities: e.P.Social, Keys: e.P.Keys, Clients: e.P.OAuth,
			AppCredentials: e.P.AppCredentials, Issuer: idptest.Issuer, SignupMode: "closed", Audit: trail, AuditLog: s}, nil
	})
	return &env{Env: e, h: h}, s
}

// Issue 18: "every admin write [...] is one structured event": each write through Caddy's
// admin endpoint is an admin.write event naming its route, by the actor caddy-admin from
// the caller's address; the user.disabled event it causes names the same actor; reads are
// not recorded; the password sent is never in an event.
func TestAdminWriteRecorded(t *testing.T) {
	e, s := newAuditEnv(t)
	const pw = "admin typed passphrase 1"
	r := httptest.NewRequest(http.MethodPut, "/gatehouse/users/"+e.User.ID+"/password", strings.NewReader(`{"password":"`+pw+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = "127.0.0.1:50000"
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code/100 != 2 {
		t.Fatalf("set password: %d %s", w.Code, w.Body)
	}
	if w := e.call(http.MethodPost, "/gatehouse/users/"+e.User.ID+"/disable", ""); w.Code != http.StatusOK {
		t.Fatalf("disable: %d %s", w.Code, w.Body)
	}
	e.call(http.MethodGet, "/gatehouse/users/"+e.User.ID, "")
	e.call(http.MethodPost, "/gatehouse/users/nobody/disable", "") // a refused write is recorded too

	all, err := s.ListAuditEvents(e.Ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var writes []store.AuditEvent
	for _, ev := range all {
		raw, _ := json.Marshal(ev)
		if strings.Contains(string(raw), pw) {
			t.Errorf("an event holds the password: %s", raw)
		}
		if ev.Type == audit.AdminWrite {
			writes = append(writes, ev)
		}
		if ev.Type == audit.UserDisabled && ev.Actor != Actor {
			t.Errorf("user.disabled by %q, want %q", ev.Actor, Actor)
		}
	}
	if len(writes) != 3 {
		t.Fatalf("%d admin.write events, want 3 (reads are not recorded): %+v", len(writes), writes)
	}
	want := []struct{ reason, status, ip string }{
		{"PUT /gatehouse/users/{id}/password", "204", "127.0.0.1"},
		{"POST /gatehouse/users/{id}/disable", "200", "192.0.2.1"},
		{"POST /gatehouse/users/{id}/disable", "404", "192.0.2.1"},
	}
	for i, ev := range writes {
		if ev.Reason != want[i].reason || ev.Actor != Actor || ev.IP != want[i].ip {
			t.Errorf("write %d: %+v, want reason %q from %s", i, ev, want[i].reason, want[i].ip)
		}
	}
	if writes[0].UserID != e.User.ID || writes[2].Details["status"] != "404" {
		t.Errorf("writes %+v", writes)
	}
}

// GET /gatehouse/audit exports the trail as JSON lines, filtered and paged; a misspelt
// filter is a 400 naming it, never the whole trail.
func TestAdminAuditExport(t *testing.T) {
	e, _ := newAuditEnv(t)
	for _, path := range []string{"/disable", "/enable", "/disable"} {
		e.call(http.MethodPost, "/gatehouse/users/"+e.User.ID+path, "")
	}
	w := e.call(http.MethodGet, "/gatehouse/audit?type=user.disabled&user="+e.User.ID, "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/jsonl" {
		t.Fatalf("export: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	lines := readLines(t, w)
	if len(lines) != 2 || lines[0].Type != audit.UserDisabled || lines[1].UserID != e.User.ID || lines[0].ID >= lines[1].ID {
		t.Fatalf("export lines %+v", lines)
	}
	// Paging: one event per page, the cursor in a header.
	w = e.call(http.MethodGet, "/gatehouse/audit?type=user.disabled&limit=1", "")
	next := w.Header().Get("Gatehouse-Audit-Next")
	if first := readLines(t, w); len(first) != 1 || next != first[0].ID {
		t.Fatalf("page 1: %+v, next %q", first, next)
	}
	w = e.call(http.MethodGet, "/gatehouse/audit?type=user.disabled&limit=1&after="+next, "")
	if second := readLines(t, w); len(second) != 1 || second[0].ID != lines[1].ID {
		t.Fatalf("page 2: %+v", second)
	}
	for _, q := range []string{"usr=x", "since=yesterday", "limit=0", "limit=5000", "since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z"} {
		w := e.call(http.MethodGet, "/gatehouse/audit?"+q, "")
		apiError(t, w, http.StatusBadRequest, "invalid_input")
	}
	// Until excludes everything after it.
	w = e.call(http.MethodGet, "/gatehouse/audit?until=2000-01-01T00:00:00Z", "")
	if got := readLines(t, w); len(got) != 0 {
		t.Errorf("until 2000: %d events", len(got))
	}
}

func readLines(t *testing.T, w *httptest.ResponseRecorder) []audit.Event {
	t.Helper()
	var out []audit.Event
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}
