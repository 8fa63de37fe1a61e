package adminv1_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// Issue 18: "Login preferences ..., branding ..., social providers (secrets write-only —
// never returned, only replaced) ... and roles → permissions ... Precedence is simple and
// visible: what the Caddyfile declares is shown read-only ... A stored setting never
// silently overrides a Caddyfile one"; "Concurrent edits conflict cleanly (412)"; "a
// provider with a non-https issuer, a template that does not parse ... is a 4xx, never a
// half-applied change".
func TestSettingsRoutes(t *testing.T) {
	e := newEnv(t)

	// The Caddyfile sets the sign-up mode (envWithSettings: base Set login.signup).
	doc := decodeBody[settings.Document](t, e.adminCall("GET", "/settings", ""), http.StatusOK)
	etag := doc.ETag
	if p := problem(t, e.adminCall("PATCH", "/settings", `{"login":{"signup":"closed"}}`, "If-Match: "+etag), http.StatusBadRequest); p.Field != "login.signup" {
		t.Errorf("a Caddyfile field: field %q", p.Field)
	}
	problem(t, e.adminCall("PATCH", "/settings", `{"login":{"methods":["password"]}}`), http.StatusPreconditionRequired)
	if p := problem(t, e.adminCall("PATCH", "/settings", `{"login":{"methods":["password","carrier_pigeon"]}}`, "If-Match: "+etag), http.StatusBadRequest); p.Field != "login.methods" {
		t.Errorf("an unknown method: field %q", p.Field)
	}
	if p := problem(t, e.adminCall("PATCH", "/settings", `{"branding":{"templates":{"email.login_code.text":"{{.Code"}}}`, "If-Match: "+etag), http.StatusBadRequest); p.Field == "" {
		t.Errorf("a template that does not parse names no field")
	}
	w := e.adminCall("PATCH", "/settings", `{"login":{"methods":["password","email_code"]},"branding":{"product_name":"Acme"}}`, "If-Match: "+etag)
	doc = decodeBody[settings.Document](t, w, http.StatusOK)
	if w.Header().Get("ETag") == etag || doc.ETag == etag {
		t.Fatal("the ETag did not change")
	}
	problem(t, e.adminCall("PATCH", "/settings", `{"branding":{"product_name":"Other"}}`, "If-Match: "+etag), http.StatusPreconditionFailed)

	// Providers: the secret is write-only.
	const prov = `{"issuer":"https://sso.example.com","client_id":"gh","client_secret":"very secret value 123","label":"Corp"}`
	if p := problem(t, e.adminCall("PUT", "/providers/corp", `{"issuer":"http://sso.example.com","client_id":"gh","client_secret":"x"}`), http.StatusBadRequest); p.Field != "providers.corp.issuer" {
		t.Errorf("a plain-http issuer: field %q", p.Field)
	}
	w = e.adminCall("PUT", "/providers/corp", prov)
	if w.Code != http.StatusCreated || strings.Contains(w.Body.String(), "very secret value") {
		t.Fatalf("create provider: %d %s", w.Code, w.Body)
	}
	pd := decodeBody[settings.ProviderDoc](t, e.adminCall("GET", "/providers/corp", ""), http.StatusOK)
	if !pd.ClientSecretSet || pd.ClientSecret != "" {
		t.Fatalf("provider as read: %+v", pd)
	}
	problem(t, e.adminCall("PUT", "/providers/corp", prov), http.StatusPreconditionFailed) // exists: needs If-Match
	w = e.adminCall("PUT", "/providers/corp", `{"issuer":"https://sso.example.com","client_id":"gh2","label":"Corp"}`, "If-Match: "+pd.ETag)
	if w.Code != http.StatusOK {
		t.Fatalf("replace keeping the secret: %d %s", w.Code, w.Body)
	}
	list := decodeBody[adminv1.Page[settings.ProviderDoc]](t, e.adminCall("GET", "/providers", ""), http.StatusOK)
	if len(list.Items) != 1 || list.Items[0].ClientID != "gh2" || strings.Contains(e.adminCall("GET", "/providers", "").Body.String(), "very secret") {
		t.Fatalf("providers: %+v", list.Items)
	}
	pd = decodeBody[settings.ProviderDoc](t, e.adminCall("GET", "/providers/corp", ""), http.StatusOK)
	problem(t, e.adminCall("DELETE", "/providers/corp", ""), http.StatusPreconditionRequired)
	if w := e.adminCall("DELETE", "/providers/corp", "", "If-Match: "+pd.ETag); w.Code != http.StatusNoContent {
		t.Fatalf("delete provider: %d %s", w.Code, w.Body)
	}
	problem(t, e.adminCall("GET", "/providers/corp", ""), http.StatusNotFound)

	// Roles.
	w = e.adminCall("PUT", "/roles/editor", `{"value":"Editor","permissions":["docs:read","docs:write"]}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create role: %d %s", w.Code, w.Body)
	}
	roles := decodeBody[adminv1.Page[settings.RoleDoc]](t, e.adminCall("GET", "/roles", ""), http.StatusOK)
	if len(roles.Items) != 1 || len(roles.Items[0].Permissions) != 2 {
		t.Fatalf("roles: %+v", roles.Items)
	}
	problem(t, e.adminCall("PUT", "/roles/editor", `{"permissions":["x"],"colour":"red"}`, "If-Match: "+roles.Items[0].ETag), http.StatusBadRequest)

	// Preview renders unsaved templates; a test needs a sender.
	pr := decodeBody[settings.Rendered](t, e.adminCall("POST", "/settings/preview", `{"channel":"email","kind":"login_code","templates":{"email.login_code.subject":"Code {{.Code}}"}}`), http.StatusOK)
	if pr.Subject == "" || !strings.Contains(pr.Subject, "Code ") {
		t.Errorf("preview: %+v", pr)
	}
	problem(t, e.adminCall("POST", "/settings/preview", `{"channel":"pigeon","kind":"login_code"}`), http.StatusBadRequest)

	// Session callers: reads for admins, writes need a fresh MFA; others nothing.
	user := e.session(t, e.User, "pwd", "mfa")
	if p := problem(t, e.call(e.withSession(user, false), "GET", "/settings", ""), http.StatusForbidden); p.Missing != adminv1.MissingGroup {
		t.Errorf("non-admin: %q", p.Missing)
	}
	stale := e.session(t, e.admin, "pwd")
	if p := problem(t, e.call(e.withSession(stale, true), "PUT", "/roles/viewer", `{"permissions":["docs:read"]}`), http.StatusForbidden); p.Missing != adminv1.MissingFreshMFA {
		t.Errorf("single-factor write: %q", p.Missing)
	}
}

// An administrator's session sends a test message only to the administrator: the template
// text is the caller's, so a test to any address would be phishing from this deployment's
// sender (review of the console).
func TestSettingsTestMessageGoesToTheAdministrator(t *testing.T) {
	e := newEnv(t)
	sec := e.session(t, e.admin, "pwd", "mfa")
	body := `{"channel":"email","kind":"login_code","to":"victim@example.net"}`
	if p := problem(t, e.call(e.withSession(sec, true), "POST", "/settings/test", body), http.StatusBadRequest); p.Field != "to" {
		t.Fatalf("a test to someone else: field %q", p.Field)
	}
}
