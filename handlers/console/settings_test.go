package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// Issue 18: "login preferences (methods on/off and order, sign-up mode, MFA per method,
// session lifetimes) with Caddyfile-set values shown read-only and marked 'set in the
// Caddyfile'; social providers (add/edit; secret write-only: a blank field keeps it);
// branding + email/SMS templates with a live preview ...; roles -> permissions".
func TestSettingsPages(t *testing.T) {
	e := newEnv(t)
	b := e.as(t, e.admin, "pwd", "mfa")
	ctx := context.Background()

	page := b.Get("/admin/settings")
	status(t, page, http.StatusOK)
	if !strings.Contains(page.Body, `data-caddyfile="login.signup"`) || !strings.Contains(page.Body, "set in the Caddyfile") {
		t.Errorf("the Caddyfile's sign-up mode is not marked: %.2000s", page.Body)
	}
	etag := strings.ReplaceAll(etagField.FindStringSubmatch(page.Body)[1], "&#34;", `"`)
	form := url.Values{"etag": {etag}, "locked": {settings.FieldSignup}, "method.password": {"1"}, "order.password": {"2"},
		"method.email_code": {"1"}, "order.email_code": {"1"}, "mfa.password": {"required"}, "product_name": {"Acme"},
		"session_idle": {"2h"}, "signup": {"closed"}}
	r := b.PostForm("/admin/settings", form)
	status(t, r, http.StatusSeeOther)
	doc, err := e.settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	login := doc.Settings["login"].(map[string]any)
	if m := login["methods"].([]string); len(m) != 2 || m[0] != "email_code" || m[1] != "password" {
		t.Errorf("methods %v, want email_code then password", m)
	}
	if login["signup"] != settings.SignupInvite {
		t.Error("the Caddyfile's sign-up mode was overridden")
	}
	// The same (now stale) ETag: refused, nothing applied.
	form.Set("product_name", "Other")
	status(t, b.PostForm("/admin/settings", form), http.StatusBadRequest)
	if doc, _ := e.settings.Get(ctx); doc.Settings["branding"].(map[string]any)["product_name"] != "Acme" {
		t.Error("a stale form applied")
	}

	// Roles.
	status(t, b.PostForm("/admin/roles/_/save", url.Values{"name": {"editor"}, "value": {"Editor"}, "permissions": {"docs:read, docs:write"}}), http.StatusSeeOther)
	if rd, err := e.settings.GetRole(ctx, "editor"); err != nil || len(rd.Permissions) != 2 {
		t.Fatalf("role: %+v %v", rd, err)
	}
	if !strings.Contains(b.Get("/admin/roles").Body, "docs:write") {
		t.Error("roles page")
	}

	// Providers: the secret never comes back; a blank field keeps it.
	r = b.PostForm("/admin/providers/_/save", url.Values{"name": {"corp"}, "preset": {"oidc"}, "issuer": {"http://sso.example.com"}, "client_id": {"x"}, "client_secret": {"s3cret-value-for-corp"}})
	status(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "issuer") {
		t.Errorf("http issuer: %.500s", r.Body)
	}
	status(t, b.PostForm("/admin/providers/_/save", url.Values{"name": {"corp"}, "preset": {"oidc"}, "issuer": {"https://sso.example.com"},
		"client_id": {"x"}, "client_secret": {"s3cret-value-for-corp"}, "label": {"Corp SSO"}}), http.StatusSeeOther)
	edit := b.Get("/admin/providers?edit=corp")
	status(t, edit, http.StatusOK)
	if strings.Contains(edit.Body, "s3cret-value-for-corp") {
		t.Fatal("the provider's secret is shown")
	}
	petag := strings.ReplaceAll(etagField.FindStringSubmatch(edit.Body)[1], "&#34;", `"`)
	status(t, b.PostForm("/admin/providers/corp/save", url.Values{"etag": {petag}, "preset": {"oidc"}, "issuer": {"https://sso.example.com"},
		"client_id": {"y"}, "label": {"Corp SSO"}}), http.StatusSeeOther)
	if pd, err := e.settings.GetProvider(ctx, "corp"); err != nil || pd.ClientID != "y" || !pd.ClientSecretSet {
		t.Fatalf("provider after an edit with a blank secret: %+v %v", pd, err)
	}

	// Templates: a server-rendered preview of the unsaved text; a broken one names the field.
	r = b.PostForm("/admin/templates/preview", url.Values{"name": {"email.login_code.subject"}, "source": {"Your Acme code {{.Code}}"}})
	status(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "data-preview-result") || !strings.Contains(r.Body, "Your Acme code") {
		t.Errorf("preview: %.2000s", r.Body)
	}
	r = b.PostForm("/admin/templates/preview", url.Values{"name": {"email.login_code.subject"}, "source": {"{{.Code"}})
	status(t, r, http.StatusBadRequest)

	// "a live preview": the HTML part is shown as an email client shows it, in a frame of
	// its own. The frame's document is the administrator's HTML, so it gets a policy of its
	// own (a sandbox: no script, an opaque origin) and only the portal may frame it; the
	// templates page allows frames of 'self', no other console page any frame.
	page = b.PostForm("/admin/templates/preview", url.Values{"name": {"email.login_code.html"}, "source": {`{{define "content"}}<p>Acme <b>{{.Code}}</b></p>{{end}}`}})
	status(t, page, http.StatusOK)
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(page.Body, `name="preview-frame"`) ||
		!strings.Contains(page.Body, "data-render-form") || !strings.Contains(csp, "frame-src 'self'") {
		t.Errorf("templates page: CSP %q, body %.3000s", csp, page.Body)
	}
	if csp := b.Get("/admin/settings").Header.Get("Content-Security-Policy"); strings.Contains(csp, "frame-src") {
		t.Errorf("another console page allows frames: %q", csp)
	}
	r = b.PostForm("/admin/templates/frame", url.Values{"name": {"email.login_code.html"}, "source": {`{{define "content"}}<p style="color:#b00">Acme <b>{{.Code}}</b></p>{{end}}`}})
	status(t, r, http.StatusOK)
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Body, `<b>740193</b>`) ||
		!strings.HasPrefix(csp, "sandbox;") || strings.Contains(csp, "script-src") || !strings.Contains(csp, "frame-ancestors 'self'") ||
		r.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("frame: %v\n%.1000s", r.Header, r.Body)
	}
	r = b.PostForm("/admin/templates/frame", url.Values{"name": {"sms.login_code"}, "source": {"Acme <b>{{.Code}}</b>"}})
	status(t, r, http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || !strings.Contains(r.Body, "Acme <b>740193</b>") {
		t.Errorf("SMS frame (plain text): %v\n%.500s", r.Header, r.Body)
	}
	r = b.PostForm("/admin/templates/frame", url.Values{"name": {"email.login_code.html"}, "source": {"{{.Code"}})
	status(t, r, http.StatusBadRequest)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || r.Body == "" {
		t.Errorf("broken template in the frame: %v\n%.500s", r.Header, r.Body)
	}

	// "Send me a test": without a sender the page says so; with one, the message goes to
	// the administrator's own address, rendered with the unsaved template.
	r = b.PostForm("/admin/templates/test", url.Values{"name": {"email.login_code.subject"}, "source": {"Test {{.Code}}"}})
	status(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "no sender") {
		t.Errorf("test without a sender: %.500s", r.Body)
	}
	sent := &deliveries{}
	e.settings.Deliver = sent
	r = b.PostForm("/admin/templates/test", url.Values{"name": {"email.login_code.subject"}, "source": {"Acme test {{.Code}}"}})
	status(t, r, http.StatusSeeOther)
	if len(sent.emails) != 1 || sent.emails[0].To != e.admin.Email || !strings.Contains(sent.emails[0].Subject, "Acme test") {
		t.Fatalf("test message: %+v", sent.emails)
	}

	// A non-administrator gets none of it.
	alice := e.as(t, e.User, "pwd", "mfa")
	for _, p := range []string{"/admin/settings", "/admin/roles", "/admin/providers", "/admin/templates"} {
		status(t, alice.Get(p), http.StatusForbidden)
	}
}

// deliveries records the messages a settings.Service sends.
type deliveries struct{ emails []notify.Email }

func (d *deliveries) Email(m notify.Email) error { d.emails = append(d.emails, m); return nil }
func (d *deliveries) SMS(notify.SMS) error       { return nil }
