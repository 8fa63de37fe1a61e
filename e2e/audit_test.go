package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuditTrailHoldsNoSecret — issue 18, "Audit trail": every security event "is one
// structured event: emitted on a dedicated zap logger (`gatehouse.audit`, JSON, so Caddy's
// log pipeline ships it) and kept in the store [...] exportable through the API as JSON
// lines. Events never contain a secret, a code, a token or a password." A real Caddy with
// the gatehouse.audit logger routed to a file of its own runs a password login, a code
// flow, a refresh, the reuse of the rotated refresh token, an email-code login and a
// logout; the log lines and the stored events (GET /gatehouse/audit) both hold each
// expected event, and neither holds any secret value the test used or received: the
// password, the code, the tokens, the cookies.
func TestAuditTrailHoldsNoSecret(t *testing.T) {
	dir := t.TempDir()
	outbox := filepath.Join(dir, "outbox.txt")
	auditLog := filepath.Join(dir, "audit.log")
	e := Start(t, Config{
		Global: `log audit {
		output file ` + auditLog + `
		format json
		level INFO
		include gatehouse.audit
	}`,
		Gatehouse: "login password email_code\n\t\temail outbox " + outbox + AppClient,
		Sites:     AppSite,
	})
	const ada = "ada.audit@example.test"
	userID := e.CreateUser(ada)
	secrets := map[string]string{"password": Password}

	// Password login at the portal, then a code flow with a refresh token.
	b := NewBrowser(t)
	e.PortalLogin(b, ada, Password)
	tok := e.Tokens(b, "app", e.RP+"/app-cb", "openid offline_access read:docs")
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		secrets[k], _ = tok[k].(string)
	}
	// A refresh, and the rotated token presented again (reuse: the grant is revoked).
	r := e.Refresh("app", secrets["refresh_token"])
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	next := r.JSON(t)
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		secrets["refreshed "+k], _ = next[k].(string)
	}
	wantTokenError(t, "reuse of the rotated refresh token", e.Refresh("app", secrets["refresh_token"]), http.StatusBadRequest, "invalid_grant")

	// An email-code login in a second browser.
	b2 := NewBrowser(t)
	verify := i18nRequestCode(t, e, b2, ada, "en")
	body, err := outboxMessage(outbox, "login_code", ada, nil, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := otCodeRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no code in the message:\n%s", body)
	}
	secrets["code"] = m[1]
	form := url.Values{"csrf_token": {FormField(t, verify, csrfRe)}, "return_to": {""}, "code": {m[1]}}
	if r := b2.Go(http.MethodPost, e.Issuer+"/login/code/verify?channel=email", form, nil); r.Status != http.StatusOK {
		t.Fatalf("email code login: %s", r)
	}

	// Every cookie the browsers hold is a secret too (session, CSRF, flow cookies).
	iss, _ := url.Parse(e.Issuer + "/")
	for i, br := range []*Browser{b, b2} {
		for _, c := range br.C.Jar.Cookies(iss) {
			if len(c.Value) >= 8 {
				secrets["cookie "+c.Name+" of browser "+string(rune('1'+i))] = c.Value
			}
		}
	}

	// Logout of the first browser.
	page := b.Go(http.MethodGet, e.Issuer+"/logout", nil, nil)
	if r := b.Go(http.MethodPost, e.Issuer+"/logout", url.Values{"csrf_token": {FormField(t, page, csrfRe)}}, nil); r.Status != http.StatusOK {
		t.Fatalf("logout: %s", r)
	}

	// The stored events, exported as JSON lines.
	exp := e.Admin(http.MethodGet, "/gatehouse/audit?limit=1000", nil)
	if exp.Status != http.StatusOK || exp.Header.Get("Content-Type") != "application/jsonl" {
		t.Fatalf("export: %s", exp)
	}
	stored := auditLines(t, "export", string(exp.Body))
	// The log lines (written as they happen; the file may lag a moment).
	var logged []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := os.ReadFile(auditLog)
		logged = auditLines(t, "log", string(raw))
		if len(logged) >= len(stored) || time.Now().After(deadline) {
			for _, l := range logged {
				if l["logger"] != "gatehouse.audit" {
					t.Errorf("log line of logger %v in the audit log: %v", l["logger"], l)
				}
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	want := []struct{ typ, method string }{
		{"admin.write", ""}, {"login.succeeded", "password"}, {"token.issued", "authorization_code"},
		{"token.refreshed", "refresh_token"}, {"token.reuse_detected", "refresh_token"},
		{"login.succeeded", "email_otp"}, {"session.ended", ""},
	}
	for _, src := range []struct {
		name   string
		events []map[string]any
	}{{"stored events", stored}, {"log lines", logged}} {
		for _, w := range want {
			found := false
			for _, ev := range src.events {
				if ev["type"] == w.typ && (w.method == "" || ev["method"] == w.method) {
					found = true
					if w.typ != "admin.write" && ev["user_id"] != userID {
						t.Errorf("%s: %s has user_id %v, want %s", src.name, w.typ, ev["user_id"], userID)
					}
					if ev["ip"] != "127.0.0.1" {
						t.Errorf("%s: %s has ip %v, want 127.0.0.1", src.name, w.typ, ev["ip"])
					}
				}
			}
			if !found {
				t.Errorf("%s: no %s event (method %q)", src.name, w.typ, w.method)
			}
		}
		all, _ := json.Marshal(src.events)
		for what, sec := range secrets {
			if sec == "" {
				t.Fatalf("no %s to look for", what)
			}
			if strings.Contains(string(all), sec) {
				t.Errorf("the %s hold the %s", src.name, what)
			}
		}
	}
}

// auditLines decodes JSON lines.
func auditLines(t *testing.T, what, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %q: %v", what, sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}
