package adminv1_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/store"
)

// appendEvent stores one audit event at the clock's time plus d.
func (e *env) appendEvent(t *testing.T, d time.Duration, ev audit.Event) {
	t.Helper()
	ev.Time = e.Clock.Now().Add(d)
	ev.ID = store.AuditEventIDPrefix(ev.Time) + ev.Type
	rec := audit.ToStore(ev)
	rec.ExpiresAt = ev.Time.Add(time.Hour)
	if err := e.Store.AppendAuditEvents(e.Ctx, rec); err != nil {
		t.Fatal(err)
	}
}

// Issue 18: the audit trail is "browsable and filterable in the console (by user, actor,
// type, time) and exportable through the API as JSON lines".
func TestAuditBrowseAndExport(t *testing.T) {
	e := newEnv(t)
	e.appendEvent(t, time.Second, audit.Event{Type: audit.LoginFailed, UserID: e.User.ID, Method: "pwd", Reason: "wrong_password"})
	e.appendEvent(t, 2*time.Second, audit.Event{Type: audit.AdminWrite, Actor: e.admin.ID, UserID: e.User.ID})

	all := decodeBody[adminv1.Page[audit.Event]](t, e.adminCall("GET", "/audit", ""), http.StatusOK)
	if len(all.Items) != 2 || all.Items[0].Type != audit.LoginFailed || all.Items[1].Type != audit.AdminWrite {
		t.Fatalf("whole trail, oldest first: %+v", all.Items)
	}
	for q, want := range map[string]string{
		"?type=login.failed":   audit.LoginFailed,
		"?actor=" + e.admin.ID: audit.AdminWrite,
		"?since=" + e.Clock.Now().Add(1500*time.Millisecond).UTC().Format(time.RFC3339Nano): audit.AdminWrite,
		"?until=" + e.Clock.Now().Add(1500*time.Millisecond).UTC().Format(time.RFC3339Nano): audit.LoginFailed,
	} {
		got := decodeBody[adminv1.Page[audit.Event]](t, e.adminCall("GET", "/audit"+q, ""), http.StatusOK)
		if len(got.Items) != 1 || got.Items[0].Type != want {
			t.Errorf("%s: %+v, want one %s", q, got.Items, want)
		}
	}
	page := decodeBody[adminv1.Page[audit.Event]](t, e.adminCall("GET", "/audit?limit=1", ""), http.StatusOK)
	if len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("a full page names the next: %+v", page)
	}
	rest := decodeBody[adminv1.Page[audit.Event]](t, e.adminCall("GET", "/audit?limit=1&after="+page.Next, ""), http.StatusOK)
	if len(rest.Items) != 1 || rest.Items[0].Type != audit.AdminWrite {
		t.Fatalf("second page: %+v", rest.Items)
	}

	// A misspelt filter never browses the whole trail.
	if p := problem(t, e.adminCall("GET", "/audit?usr=x", ""), http.StatusBadRequest); p.Field != "usr" {
		t.Errorf("unknown parameter: field %q", p.Field)
	}
	if p := problem(t, e.adminCall("GET", "/audit?since=yesterday", ""), http.StatusBadRequest); p.Field != "since" {
		t.Errorf("bad time: field %q", p.Field)
	}

	w := e.adminCall("GET", "/audit/export?user="+e.User.ID, "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != audit.ContentType {
		t.Fatalf("export: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"login.failed"`) {
		t.Fatalf("export lines: %q", lines)
	}

	// Only administrators read the trail.
	user := e.session(t, e.User, "pwd", "mfa")
	if p := problem(t, e.call(e.withSession(user, false), "GET", "/audit", ""), http.StatusForbidden); p.Missing != adminv1.MissingGroup {
		t.Errorf("non-admin: missing %q", p.Missing)
	}
	if p := problem(t, e.call(bearer(e.clientToken(t, "reader", "read")), "GET", "/audit/export", ""), http.StatusForbidden); p.Missing != adminv1.MissingScope {
		t.Errorf("token without the scope: missing %q", p.Missing)
	}
}
