package password

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// TestMFARequiredSetting: issue 18's "MFA requirement per method". With login.mfa.password
// set to required at runtime, a password login of a user without a second factor starts no
// session and says why; the same login works again once the setting is back to
// if_enrolled, without a reload.
func TestMFARequiredSetting(t *testing.T) {
	e := newEnv(t)
	base := settings.Base{Values: settings.Defaults(), EmailAvailable: true}
	view := settings.NewView(base, e.Store, nil, nil)
	e.Kit.Settings = view
	svc := settings.NewService(e.Store, view, nil, nil)
	if _, err := svc.Update(e.Ctx, json.RawMessage(`{"login":{"mfa":{"password":"required"}}}`), 0, "admin"); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	r := b.PostForm("/login", form(idptest.Alice, idptest.UserPassword, ""))
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "needs a second factor") || r.Cookie("session") != nil {
		t.Fatalf("password login with MFA required and no second factor: %d, session cookie %v\n%s", r.StatusCode, r.Cookie("session"), r.Body)
	}
	if _, err := svc.Update(e.Ctx, json.RawMessage(`{"login":{"mfa":{"password":"if_enrolled"}}}`), 1, "admin"); err != nil {
		t.Fatal(err)
	}
	r = b.PostForm("/login", form(idptest.Alice, idptest.UserPassword, ""))
	if r.StatusCode != http.StatusSeeOther || r.Cookie("session") == nil {
		t.Fatalf("password login once MFA is back to if_enrolled: %d\n%s", r.StatusCode, r.Body)
	}
}
