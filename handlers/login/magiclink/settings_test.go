package magiclink

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// Issue 18: login preferences (enabled methods) "take effect on the next request, without
// a reload". With magic_link taken out of login.methods, a link sent before logs in no more
// (API and form redemption: no session) and no new link is sent, each refusal a
// login.failed event with the reason; turned back on before it expires, the same link logs
// in (a refused redemption does not use it up).
func TestMagicLinkOffSetting(t *testing.T) {
	rec := &audit.Memory{}
	e := newEnv(t, func(c *idp.Config) { c.Audit = rec })
	st := e.UseSettings()
	on, off := `{"login":{"methods":["password","magic_link"]}}`, `{"login":{"methods":["password"]}}`
	st.Set(on)
	b := e.Browser()
	if r := b.PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": idptest.Alice}); r.StatusCode != http.StatusAccepted {
		t.Fatalf("start while on: %d %s", r.StatusCode, r.Body)
	}
	tok := token(t, e)
	sent := e.Msgs.Count(idptest.Alice)

	st.Set(off)
	r := b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok})
	if r.StatusCode != http.StatusNotFound || r.APIError(t).Error != "method_disabled" || r.Cookie("session") != nil {
		t.Fatalf("API redemption once off: %d %s, want 404 method_disabled and no session", r.StatusCode, r.Body)
	}
	b.Get("/login/magic") // the CSRF cookie
	r = b.PostForm("/login/magic", url.Values{"token": {tok}})
	if r.StatusCode == http.StatusSeeOther || r.Cookie("session") != nil {
		t.Fatalf("form redemption once off: %d, want a refusal and no session\n%s", r.StatusCode, r.Body)
	}
	if r := b.PostJSON("/api/v1/login/magic-link/start", map[string]string{"email": idptest.Alice}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("start once off: %d %s, want 404", r.StatusCode, r.Body)
	}
	if n := e.Msgs.Count(idptest.Alice); n != sent {
		t.Fatalf("%d links sent while the method was off", n-sent)
	}
	n := 0
	for _, ev := range rec.Events() {
		if ev.Type == audit.LoginFailed && ev.Method == "magic_link" && ev.Reason == "this login method is not enabled on this server" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d login.failed events with the method-off reason, want 3\n%+v", n, rec.Events())
	}

	st.Set(on)
	r = b.PostJSON("/api/v1/login/magic-link/finish", map[string]any{"token": tok})
	if r.StatusCode != http.StatusOK || r.Cookie("session") == nil {
		t.Fatalf("the same link once back on: %d %s, want 200 and a session", r.StatusCode, r.Body)
	}
}
