package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/module"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// settingsService returns the running app's runtime-settings service (the Go API the
// Administration API calls).
func settingsService(t *testing.T) *settings.Service {
	t.Helper()
	app, err := caddy.ActiveContext().App("gatehouse")
	if err != nil {
		t.Fatalf("gatehouse app: %v", err)
	}
	return app.(*module.App).Settings()
}

// TestSettingsStoredProviderAndRole: issue 18's "add an OIDC provider pointing at the test
// upstream provider ... assign a role; then, as that user ..., see the new provider on the
// login page, log in through it, and get the role's permissions in the ID token — all
// without a reload". A provider stored under the name of a Caddyfile one, or with a plain
// http issuer on a public host, is refused naming the field.
func TestSettingsStoredProviderAndRole(t *testing.T) {
	up := soUpstreams(t)
	corp, other := up.op("corp"), up.op("other")
	corp.setUser(t, soUser{Sub: "so-ada", Email: "ada@corp.test", EmailVerified: true, GivenName: "Ada", FamilyName: "Byron"})
	e := Start(t, Config{Gatehouse: "signup open" + AppClient + soSocial("other", other, `label "Other ID"`)})
	svc := settingsService(t)
	ctx := context.Background()
	b := NewBrowser(t)
	buttons := soButtons(t, e, b.Do(http.MethodGet, e.Issuer+"/login", nil))
	if buttons["Log in with Corp SSO"] != "" || buttons["Log in with Other ID"] == "" {
		t.Fatalf("login page buttons before the provider was stored: %v", buttons)
	}

	body := func(issuer string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"issuer":%q,"client_id":"gatehouse-%d-corp","client_secret":"secret-gatehouse-%d-corp","label":"Corp SSO"}`,
			issuer, e.PortalPort, e.PortalPort))
	}
	var fe *settings.FieldError
	if _, err := svc.PutProvider(ctx, "other", body(corp.Issuer), 0, "admin"); !errors.As(err, &fe) || fe.Field != "providers.other.name" {
		t.Fatalf("a provider with the name of a Caddyfile one: %v", err)
	}
	if _, err := svc.PutProvider(ctx, "corp", body("http://sso.example.com"), 0, "admin"); !errors.As(err, &fe) || fe.Field != "providers.corp.issuer" {
		t.Fatalf("a provider with a plain http issuer: %v", err)
	}
	if _, err := svc.PutProvider(ctx, "corp", body(corp.Issuer), 0, "admin"); err != nil {
		t.Fatalf("store the provider: %v", err)
	}
	buttons = soButtons(t, e, b.Do(http.MethodGet, e.Issuer+"/login", nil))
	if buttons["Log in with Corp SSO"] == "" || buttons["Log in with Other ID"] == "" {
		t.Fatalf("login page buttons after the provider was stored: %v", buttons)
	}
	uid := soLoggedIn(t, e, b, "login through the stored provider", soLogin(t, e, b, "corp", "so-ada"), "")

	if _, err := svc.PutRole(ctx, "editor", json.RawMessage(`{"value":"Editor","permissions":["docs:read","docs:write"]}`), 0, "admin"); err != nil {
		t.Fatalf("store the role: %v", err)
	}
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+url.PathEscape(uid), map[string]any{"roles": []string{"editor"}, "permissions": []string{"billing:read"}}); r.Status != http.StatusOK {
		t.Fatalf("give the user the role: %s", r)
	}
	params, verifier := AuthParams("app", e.RP+"/app-cb", "openid")
	params.Set("claims", `{"id_token":{"roles":null,"role_values":null,"permissions":null}}`)
	q := e.Authorize(b, params)
	r := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {e.RP + "/app-cb"},
		"client_id": {"app"}, "code_verifier": {verifier}})
	if r.Status != http.StatusOK {
		t.Fatalf("token: %s", r)
	}
	claims := JWTClaims(t, r.JSON(t)["id_token"].(string))
	list := func(name string) []string {
		var out []string
		for _, v := range claims[name].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if !slices.Equal(list("roles"), []string{"editor"}) || !slices.Equal(list("role_values"), []string{"Editor"}) ||
		!slices.Equal(list("permissions"), []string{"billing:read", "docs:read", "docs:write"}) {
		t.Fatalf("ID token roles %v, role_values %v, permissions %v", claims["roles"], claims["role_values"], claims["permissions"])
	}
}
