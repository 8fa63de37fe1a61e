package account

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestCredentialsAPI: issue 16 — "a named credential with an expiry, a set of scopes and
// optionally a list of sites … shown exactly once, stored hashed, listed with last-used time
// and IP, and revocable". The JSON API creates one (201 with the secret), lists it without
// the secret, revokes it; bad input says what to change; an old login must log in again
// (CR-19); another user's credential is 404.
func TestCredentialsAPI(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	var created struct {
		Secret     string       `json:"secret"`
		Credential appcred.View `json:"credential"`
	}
	r := b.PostJSON("/api/v1/account/credentials", map[string]any{"kind": "pat", "name": "CI", "scopes": []string{"read"},
		"sites": []string{"Files.Example.com"}, "expires_in_days": 30})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(t, &created)
	if kind, ok := appcred.Parse(created.Secret); !ok || kind != store.CredentialPAT || created.Credential.Status != "active" ||
		created.Credential.Sites[0] != "files.example.com" {
		t.Fatalf("created = %+v", created)
	}
	stored, err := e.P.Store.GetAppCredential(e.Ctx, appcred.Hash(created.Secret))
	if err != nil || strings.Contains(stored.ID, created.Secret) {
		t.Fatalf("stored under the secret's hash: %v %+v", err, stored)
	}
	r = b.Get("/api/v1/account/credentials")
	if r.StatusCode != http.StatusOK || strings.Contains(r.Body, created.Secret) || !strings.Contains(r.Body, `"name":"CI"`) {
		t.Fatalf("list: %d %s", r.StatusCode, r.Body)
	}
	for name, body := range map[string]map[string]any{
		"no name":    {"kind": "pat", "expires_in_days": 30},
		"no expiry":  {"kind": "pat", "name": "x"},
		"bad kind":   {"kind": "password", "name": "x", "expires_in_days": 1},
		"bad site":   {"kind": "pat", "name": "x", "expires_in_days": 1, "sites": []string{"https://x.test/"}},
		"bad scopes": {"kind": "pat", "name": "x", "expires_in_days": 1, "scopes": "read"},
	} {
		if r := b.PostJSON("/api/v1/account/credentials", body); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.StatusCode, r.Body)
		}
	}
	r = b.PostJSON("/api/v1/account/credentials/"+created.Credential.ID+"/revoke", map[string]any{})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"status":"revoked"`) {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.Body)
	}
	if _, err := e.P.AppCredentials.Verify(e.Ctx, created.Secret, store.CredentialPAT, false, "", "192.0.2.9"); err == nil {
		t.Fatal("a revoked credential verifies")
	}
	if r := b.PostJSON("/api/v1/account/credentials/0123456789abcdef/revoke", map[string]any{}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("revoke unknown: %d", r.StatusCode)
	}
	if r := b.SendJSON("DELETE", "/api/v1/account/credentials/"+created.Credential.ID, nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(sessions.FreshLogin + 1)
	r = b.PostJSON("/api/v1/account/credentials", map[string]any{"kind": "pat", "name": "late", "expires_in_days": 1})
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "reauthenticate" {
		t.Fatalf("create with an old login: %d %s, want 403 reauthenticate", r.StatusCode, r.Body)
	}
}

var secretRe = regexp.MustCompile(`value="(gh_app_[0-9A-Za-z]{36})"`)

// TestCredentialsPage: PX-24 — the account page's form (CSRF token required) creates an
// app password and shows it once; the next view of the page lists it without the secret and
// revoking it there works.
func TestCredentialsPage(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	if r := b.Get("/"); !strings.Contains(r.Body, `action="/account/credentials"`) {
		t.Fatalf("no create form:\n%s", r.Body)
	}
	form := url.Values{"kind": {"app_password"}, "name": {"Laptop git"}, "scopes": {"files:read, files:write"}, "expires_in_days": {"30"}}
	forged := url.Values{"csrf_token": {"forged"}}
	for k, v := range form {
		forged[k] = v
	}
	if r := b.PostForm("/account/credentials", forged); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forged CSRF token: %d", r.StatusCode)
	}
	r := b.PostForm("/account/credentials", form)
	m := secretRe.FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusCreated || m == nil || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %v\n%s", r.StatusCode, r.Header, r.Body)
	}
	u, _ := e.P.Store.GetUserByEmail(e.Ctx, "alice@example.com")
	if _, err := e.P.AppCredentials.Verify(e.Ctx, m[1], store.CredentialAppPassword, true, u.Email, "192.0.2.9"); err != nil {
		t.Fatalf("the shown app password does not verify: %v", err)
	}
	r = b.Get("/")
	if strings.Contains(r.Body, m[1]) || !strings.Contains(r.Body, "Laptop git") || !strings.Contains(r.Body, "files:read files:write") {
		t.Fatalf("page after creation:\n%s", r.Body)
	}
	id := appcred.ShortID(appcred.Hash(m[1]))
	if r := b.PostForm("/account/credentials/"+id+"/revoke", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.Body)
	}
	if r := b.Get("/"); !strings.Contains(r.Body, ">revoked<") {
		t.Fatalf("revoked credential not shown as revoked:\n%s", r.Body)
	}
}

// TestCredentialsNeedTheRequiredSecondFactor: issue 18 ("take effect on the next request")
// — while the settings require a second factor after the password (login.mfa.password:
// required), a recent password-only session (amr [pwd], logged in just before the change)
// creates no app password or access token: those are exempt from the step-up that
// gatehouse_protect asks of the session, so the session would skip it through them. The
// answer tells the user to confirm the login with a second factor; relaxed, it works.
func TestCredentialsNeedTheRequiredSecondFactor(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	var required atomic.Bool
	required.Store(true)
	e.P.MFA.Required = func(amr []string) bool { return required.Load() && slices.Contains(amr, "pwd") }
	body := map[string]any{"kind": "pat", "name": "CI", "expires_in_days": 30}
	r := b.PostJSON("/api/v1/account/credentials", body)
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "second_factor_required" || !strings.Contains(r.Body, "/login/mfa") {
		t.Fatalf("create from a single-factor session: %d %s, want 403 second_factor_required naming /login/mfa", r.StatusCode, r.Body)
	}
	if list, err := e.P.AppCredentials.List(e.Ctx, e.User.ID); err != nil || len(list) != 0 {
		t.Fatalf("credentials stored: %v %d", err, len(list))
	}
	required.Store(false)
	if r := b.PostJSON("/api/v1/account/credentials", body); r.StatusCode != http.StatusCreated {
		t.Fatalf("setting relaxed: %d %s, want 201", r.StatusCode, r.Body)
	}
}
