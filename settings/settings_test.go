package settings

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// testBase is a Caddyfile that sets the sign-up mode and the colour, has an email sender
// but no SMS sender, and a social provider named "google".
func testBase() Base {
	v := Defaults()
	v.Signup, v.Color = SignupInvite, "#112233"
	return Base{Values: v, Set: map[string]bool{FieldSignup: true, FieldColor: true},
		EmailAvailable: true, PasskeysAvailable: true, Providers: []string{"google"},
		Roles: []Role{{Name: "admin", Permissions: []string{"all"}}}}
}

type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

type env struct {
	st    *memory.Store
	view  *View
	svc   *Service
	audit *recorder
}

func newEnv(t *testing.T, base Base) *env {
	t.Helper()
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	sealer, err := NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	v := NewView(base, st, sealer, nil)
	rec := &recorder{}
	svc := NewService(st, v, sealer, rec)
	svc.Issuer = "https://login.example.com"
	return &env{st: st, view: v, svc: svc, audit: rec}
}

func fieldError(t *testing.T, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a FieldError naming %s", err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError names %q (%s), want %q", fe.Field, fe.Message, field)
	}
}

// DESIGN.md: "merges them under the Caddyfile's values (Caddyfile wins, shown read-only)".
// issue 18: "A stored setting never silently overrides a Caddyfile one."
func TestCaddyfileWinsOverStored(t *testing.T) {
	e := newEnv(t, testBase())
	ctx := t.Context()
	// A record stored before the Caddyfile set the field (or by another tool).
	doc := `{"login.signup":"open","branding.product_name":"Acme","branding.color":"#ffffff"}`
	if _, err := e.st.PutSetting(ctx, store.Setting{Key: KeyGeneral, Value: json.RawMessage(doc)}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.view.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got := e.view.Load().Effective
	if got.Signup != SignupInvite || got.Color != "#112233" {
		t.Errorf("signup %q, color %q: the stored values overrode the Caddyfile's", got.Signup, got.Color)
	}
	if got.ProductName != "Acme" {
		t.Errorf("product name %q, want the stored Acme (the Caddyfile does not set it)", got.ProductName)
	}
	d, err := e.svc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.FromCaddyfile, ",") != "branding.color,login.signup" || d.Version != 1 || d.ETag != `"1"` {
		t.Errorf("document: from Caddyfile %v, version %d, etag %s", d.FromCaddyfile, d.Version, d.ETag)
	}
	login := d.Settings["login"].(map[string]any)
	if login["signup"] != SignupInvite {
		t.Errorf("document shows signup %v, want the Caddyfile's invite", login["signup"])
	}
}

// brief: "a write to a Caddyfile-set field is refused naming the field".
func TestUpdateRefusesCaddyfileField(t *testing.T) {
	e := newEnv(t, testBase())
	_, err := e.svc.Update(t.Context(), json.RawMessage(`{"login":{"signup":"open"},"branding":{"product_name":"Acme"}}`), 0, "u1")
	fieldError(t, err, FieldSignup)
	if _, err := e.st.GetSetting(t.Context(), KeyGeneral); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused update wrote something (half-applied): %v", err)
	}
}

// issue 18: "Every API field is validated with a message naming it; unknown fields are
// refused; ... a template that does not parse ... is a 4xx, never a half-applied change."
func TestUpdateValidation(t *testing.T) {
	cases := []struct{ patch, field string }{
		{`{"login":{"colour":"red"}}`, "login.colour"},
		{`{"nope":1}`, "nope"},
		{`[1]`, "settings"},
		{`{}`, "settings"},
		{`{"login":{"methods":["password","fax"]}}`, FieldMethods},
		{`{"login":{"methods":["password","password"]}}`, FieldMethods},
		{`{"login":{"methods":["passkey"]}}`, FieldMethods},
		{`{"login":{"methods":["password","sms_code"]}}`, FieldMethods}, // no SMS sender
		{`{"login":{"methods":"password"}}`, FieldMethods},
		{`{"login":{"mfa":{"password":"sometimes"}}}`, "login.mfa.password"},
		{`{"login":{"mfa":{"fax":"required"}}}`, "login.mfa.fax"},
		{`{"login":{"session_idle":"soon"}}`, FieldSessionIdle},
		{`{"login":{"session_idle":"1s"}}`, FieldSessionIdle},
		{`{"login":{"session_idle":"400h"}}`, FieldSessionIdle}, // above the 14-day lifetime? no: 400h > 336h
		{`{"branding":{"product_name":""}}`, FieldProductName},
		{`{"branding":{"product_name":"<script>"}}`, FieldProductName},
		{`{"branding":{"logo_url":"http://cdn.example.com/l.png"}}`, FieldLogoURL},
		{`{"branding":{"logo_url":"javascript:alert(1)"}}`, FieldLogoURL},
		{`{"branding":{"templates":{"email.login_code.subject":"{{.Code"}}}`, "branding.templates.email.login_code.subject"},
		{`{"branding":{"templates":{"email.login_code.text":"Your code is secret."}}}`, "branding.templates.email.login_code.text"},
		{`{"branding":{"templates":{"sms.login_code":"{{.Nope}}"}}}`, "branding.templates.sms.login_code"},
		{`{"branding":{"templates":{"email.unknown":"x"}}}`, "branding.templates.email.unknown"},
	}
	for _, c := range cases {
		t.Run(c.patch, func(t *testing.T) {
			e := newEnv(t, testBase())
			_, err := e.svc.Update(t.Context(), json.RawMessage(c.patch), 0, "u1")
			fieldError(t, err, c.field)
			t.Log(err)
			if _, err := e.st.GetSetting(t.Context(), KeyGeneral); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("a refused update was stored")
			}
		})
	}
}

// issue 18: "take effect on the next request, without a reload"; "Concurrent edits
// conflict cleanly (412)".
func TestUpdateTakesEffectAndConflicts(t *testing.T) {
	e := newEnv(t, testBase())
	ctx := t.Context()
	d, err := e.svc.Update(ctx, json.RawMessage(`{"login":{"methods":["email_code","password"],"session_idle":"2h","mfa":{"password":"required"}},
		"branding.product_name":"Acme","branding":{"templates":{"email.login_code.subject":"{{.ProductName}} code"}}}`), 0, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 {
		t.Fatalf("version %d after the first write", d.Version)
	}
	snap := e.view.Load()
	if strings.Join(snap.Effective.LoginMethods, ",") != "email_code,password" || snap.Effective.SessionIdle != 2*time.Hour ||
		snap.Effective.ProductName != "Acme" || snap.Effective.MFAFor(MethodPassword) != MFARequired || snap.Effective.MFAFor(MethodEmailCode) != MFAIfEnrolled {
		t.Fatalf("the view did not take the write at once: %+v", snap.Effective)
	}
	m, err := snap.Templates.Email(notify.KindLoginCode, notify.MessageData{ProductName: "Acme", Code: "123456"})
	if err != nil || m.Subject != "Acme code" {
		t.Fatalf("stored subject template: %q, %v", m.Subject, err)
	}
	// A second admin still holding version 0 is refused; nothing changes.
	_, err = e.svc.Update(ctx, json.RawMessage(`{"branding":{"product_name":"Other"}}`), 0, "u2")
	if !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("stale write: %v, want ErrVersionMismatch", err)
	}
	if e.view.Load().Effective.ProductName != "Acme" {
		t.Fatal("a stale write changed the product name")
	}
	// null resets a field to the Caddyfile's or the default.
	if _, err := e.svc.Update(ctx, json.RawMessage(`{"branding":{"product_name":null}}`), 1, "u2"); err != nil {
		t.Fatal(err)
	}
	if got := e.view.Load().Effective.ProductName; got != "Gatehouse" {
		t.Fatalf("after reset the product name is %q", got)
	}
	if len(e.audit.events) != 2 || e.audit.events[0].Type != audit.AdminWrite || e.audit.events[0].Actor != "u1" ||
		!strings.Contains(e.audit.events[0].Details["fields"], FieldProductName) {
		t.Fatalf("audit events %+v", e.audit.events)
	}
}

// issue 18: "take effect ... on every Gatehouse instance that shares the store": a second
// instance's view sees a write on its next refresh, and Run refreshes by polling.
func TestOtherInstanceSeesWrite(t *testing.T) {
	e := newEnv(t, testBase())
	other := NewView(testBase(), e.st, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); other.Run(ctx, 10*time.Millisecond, nil) }()
	if _, err := e.svc.Update(t.Context(), json.RawMessage(`{"branding":{"product_name":"Acme"}}`), 0, "u1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for other.Load().Effective.ProductName != "Acme" {
		if time.Now().After(deadline) {
			t.Fatal("the other instance never saw the write")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// A stored value that is no longer valid (the email sender was removed from the
// Caddyfile) is ignored by the view, never fatal, and does not block other writes.
func TestInvalidStoredValueIgnored(t *testing.T) {
	e := newEnv(t, testBase())
	ctx := t.Context()
	doc := `{"login.methods":["password","sms_code"],"branding.product_name":"Acme"}`
	if _, err := e.st.PutSetting(ctx, store.Setting{Key: KeyGeneral, Value: json.RawMessage(doc)}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.view.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.view.Load().Effective; got.Enabled(MethodSMSCode) || got.ProductName != "Acme" {
		t.Fatalf("effective %+v", got)
	}
	if _, err := e.svc.Update(ctx, json.RawMessage(`{"branding":{"logo_url":"https://cdn.example.com/l.png"}}`), 1, "u1"); err != nil {
		t.Fatalf("an unrelated write was blocked by an old invalid value: %v", err)
	}
}

// issue 18: "social providers (all presets; secrets write-only — never returned, only
// replaced)"; "a provider with a non-https issuer ... is a 4xx".
func TestProviders(t *testing.T) {
	e := newEnv(t, testBase())
	ctx := t.Context()
	const secret = "s3cr3t-client-secret"
	for _, c := range []struct{ name, body, field string }{
		{"corp", `{"issuer":"http://sso.example.com","client_id":"gh","client_secret":"x"}`, "providers.corp.issuer"},
		{"corp", `{"client_id":"gh","client_secret":"x"}`, "providers.corp.issuer"},
		{"corp", `{"issuer":"https://sso.example.com","client_secret":"x"}`, "providers.corp.client_id"},
		{"corp", `{"issuer":"https://sso.example.com","client_id":"gh"}`, "providers.corp.client_secret"},
		{"corp", `{"issuer":"https://sso.example.com","client_id":"gh","client_secret":"x","colour":"red"}`, "providers.corp.colour"},
		{"corp", `{"issuer":"https://sso.example.com","client_id":"gh","client_secret":"x","client_secret_set":true}`, "providers.corp.client_secret_set"},
		{"corp", `{"preset":"myspace","client_id":"gh","client_secret":"x"}`, "providers.corp.preset"},
		{"github", `{"issuer":"https://github.com","client_id":"gh","client_secret":"x"}`, "providers.github.issuer"},
		{"github", `{"client_id":"gh","client_secret":"x","token_url":"http://ghe.example.com/token"}`, "providers.github.token_url"},
		{"corp", `{"issuer":"https://sso.example.com","client_id":"gh","client_secret":"x","scopes":["a b"]}`, "providers.corp.scopes[0]"},
		{"corp", `{"issuer":"https://sso.example.com","client_id":"gh","client_secret":"x","allowed_domains":["@x.com"]}`, "providers.corp.allowed_domains[0]"},
		{"Corp!", `{"issuer":"https://sso.example.com","client_id":"gh","client_secret":"x"}`, "providers.Corp!.name"},
		{"google", `{"client_id":"gh","client_secret":"x"}`, "providers.google.name"}, // the Caddyfile's
	} {
		_, err := e.svc.PutProvider(ctx, c.name, json.RawMessage(c.body), 0, "u1")
		fieldError(t, err, c.field)
	}
	d, err := e.svc.PutProvider(ctx, "corp", json.RawMessage(`{"issuer":"https://sso.example.com","client_id":"app","client_secret":"`+secret+`","label":"Corp SSO"}`), 0, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if d.ClientSecret != "" || !d.ClientSecretSet || d.Version != 1 {
		t.Fatalf("created provider doc %+v", d)
	}
	rec, err := e.st.GetSetting(ctx, PrefixProvider+"corp")
	if err != nil || strings.Contains(string(rec.Value), secret) {
		t.Fatalf("the client secret is stored in clear: %s (%v)", rec.Value, err)
	}
	if got := e.view.Load().Providers["corp"]; got.ClientSecret != secret || got.Label != "Corp SSO" {
		t.Fatalf("the view's provider %+v does not carry the opened secret", got)
	}
	// An update without a secret keeps it; the secret is never returned.
	if _, err := e.svc.PutProvider(ctx, "corp", json.RawMessage(`{"issuer":"https://sso.example.com","client_id":"app","label":"Corp"}`), 1, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := e.view.Load().Providers["corp"]; got.ClientSecret != secret || got.Label != "Corp" {
		t.Fatalf("after an update without a secret: %+v", got)
	}
	// ... but only while it goes where it went: an administrator pointing the issuer or the
	// token URL elsewhere must give the secret again, or the next login would hand the
	// write-only secret to a server of their choosing.
	for _, body := range []string{
		`{"issuer":"https://attacker.example.net","client_id":"app"}`,
		`{"preset":"github","client_id":"app","token_url":"https://attacker.example.net/token","auth_url":"https://attacker.example.net/auth","api_url":"https://attacker.example.net/api"}`,
	} {
		_, err := e.svc.PutProvider(ctx, "corp", json.RawMessage(body), 2, "u1")
		fieldError(t, err, "providers.corp.client_secret")
	}
	if _, err := e.svc.PutProvider(ctx, "corp", json.RawMessage(`{"issuer":"https://sso2.example.com","client_id":"app","client_secret":"`+secret+`"}`), 2, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := e.view.Load().Providers["corp"]; got.ClientSecret != secret || got.Issuer != "https://sso2.example.com" {
		t.Fatalf("after moving the issuer with the secret: %+v", got)
	}
	list, err := e.svc.ListProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), secret) || len(list) != 2 || !list[1].FromCaddyfile || list[0].Name != "corp" {
		t.Fatalf("provider list %s", b)
	}
	g, err := e.svc.GetProvider(ctx, "corp")
	if err != nil || g.ClientSecret != "" {
		t.Fatalf("get provider: %+v, %v", g, err)
	}
	for _, ev := range e.audit.events {
		if b, _ := json.Marshal(ev); strings.Contains(string(b), secret) {
			t.Fatalf("an audit event carries the secret: %s", b)
		}
	}
	if err := e.svc.DeleteProvider(ctx, "corp", 1, "u1"); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("delete with a stale version: %v", err)
	}
	if err := e.svc.DeleteProvider(ctx, "corp", 3, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.view.Load().Providers["corp"]; ok {
		t.Fatal("the deleted provider is still in force")
	}
	if _, err := e.svc.GetProvider(ctx, "corp"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted provider: %v", err)
	}
}

// A stored provider whose sealed secret was moved to another provider's record does not
// open: the secret is bound to the provider's name.
func TestSealedSecretBoundToName(t *testing.T) {
	s, _ := NewSealer(make([]byte, 32))
	sealed := s.Seal("corp", "x")
	if got, err := s.Open("corp", sealed); err != nil || got != "x" {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := s.Open("evil", sealed); !errors.Is(err, ErrSealed) {
		t.Fatalf("a secret sealed for corp opened for evil: %v", err)
	}
}

// issue 18: "roles → permissions (a role is a named set of permissions; users get roles;
// the seed's roles, role_values and permissions claims come from them)". Users whose
// permissions are set directly keep them.
func TestRoles(t *testing.T) {
	e := newEnv(t, testBase())
	ctx := t.Context()
	for _, c := range []struct{ name, body, field string }{
		{"editor", `{"permissions":["docs write"]}`, "roles.editor.permissions[0]"},
		{"editor", `{"permissions":["a","a"]}`, "roles.editor.permissions[1]"},
		{"editor", `{"perms":["a"]}`, "roles.editor.perms"},
		{"editor", `{"permissions":"a"}`, "roles.editor.permissions"},
		{"-x", `{"permissions":["a"]}`, "roles.-x.name"},
		{"admin", `{"permissions":["a"]}`, "roles.admin.name"}, // the Caddyfile's
	} {
		_, err := e.svc.PutRole(ctx, c.name, json.RawMessage(c.body), 0, "u1")
		fieldError(t, err, c.field)
	}
	if _, err := e.svc.PutRole(ctx, "editor", json.RawMessage(`{"value":"Editor","permissions":["docs:read","docs:write"]}`), 0, "u1"); err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: "u", Roles: []string{"editor", "admin", "ghost"}, Permissions: []string{"billing:read", "docs:read"}, RoleValues: []string{"Owner"}}
	x := e.view.Load().ExpandUser(u)
	if strings.Join(x.Permissions, ",") != "billing:read,docs:read,docs:write,all" {
		t.Errorf("permissions %v", x.Permissions)
	}
	if strings.Join(x.RoleValues, ",") != "Owner,Editor,admin" || strings.Join(x.Roles, ",") != "editor,admin,ghost" {
		t.Errorf("role values %v, roles %v", x.RoleValues, x.Roles)
	}
	if strings.Join(u.Permissions, ",") != "billing:read,docs:read" {
		t.Error("ExpandUser changed its argument")
	}
	if _, err := e.svc.PutRole(ctx, "editor", json.RawMessage(`{"permissions":[]}`), 0, "u1"); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("create over an existing role: %v", err)
	}
	if err := e.svc.DeleteRole(ctx, "editor", 1, "u1"); err != nil {
		t.Fatal(err)
	}
	if x := e.view.Load().ExpandUser(u); strings.Join(x.Permissions, ",") != "billing:read,docs:read,all" {
		t.Errorf("after deleting the role: %v", x.Permissions)
	}
	roles, err := e.svc.ListRoles(ctx)
	if err != nil || len(roles) != 1 || !roles[0].FromCaddyfile {
		t.Fatalf("roles %+v, %v", roles, err)
	}
}

type deliveries struct {
	emails []notify.Email
	sms    []notify.SMS
}

func (d *deliveries) Email(m notify.Email) error { d.emails = append(d.emails, m); return nil }
func (d *deliveries) SMS(m notify.SMS) error     { d.sms = append(d.sms, m); return nil }

// issue 18: "each email/SMS template with a live preview and a 'send me a test' button".
func TestPreviewAndTestSend(t *testing.T) {
	e := newEnv(t, testBase())
	ctx := t.Context()
	r, err := e.svc.Preview(ctx, PreviewRequest{Channel: "email", Kind: notify.KindLoginCode})
	if err != nil || !strings.Contains(r.Text, "740193") || r.Subject == "" || !strings.Contains(r.HTML, "#112233") {
		t.Fatalf("built-in preview: %+v, %v", r, err)
	}
	// An unsaved edit is previewed, and one that drops the code is refused naming it.
	r, err = e.svc.Preview(ctx, PreviewRequest{Channel: "email", Kind: notify.KindLoginCode,
		Templates: map[string]string{"email.login_code.subject": "Hi from {{.ProductName}}"}})
	if err != nil || r.Subject != "Hi from Gatehouse" {
		t.Fatalf("preview of an unsaved subject: %q, %v", r.Subject, err)
	}
	_, err = e.svc.Preview(ctx, PreviewRequest{Channel: "sms", Kind: notify.KindLoginCode, Templates: map[string]string{"sms.login_code": "no code"}})
	fieldError(t, err, "branding.templates.sms.login_code")
	_, err = e.svc.Preview(ctx, PreviewRequest{Channel: "fax", Kind: notify.KindLoginCode})
	fieldError(t, err, "channel")

	if err := e.svc.TestSend(ctx, PreviewRequest{Channel: "email", Kind: notify.KindMagicLink}, "admin@example.com", "u1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("test send without a deliverer: %v", err)
	}
	d := &deliveries{}
	e.svc.Deliver = d
	if err := e.svc.TestSend(ctx, PreviewRequest{Channel: "email", Kind: notify.KindMagicLink}, "not an address", "u1"); err == nil {
		t.Fatal("a test to a bad address was accepted")
	}
	if err := e.svc.TestSend(ctx, PreviewRequest{Channel: "sms", Kind: notify.KindLoginCode}, "+15550100123", "u1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("SMS test without an SMS sender: %v", err)
	}
	if err := e.svc.TestSend(ctx, PreviewRequest{Channel: "email", Kind: notify.KindMagicLink}, "admin@example.com", "u1"); err != nil {
		t.Fatal(err)
	}
	if len(d.emails) != 1 || d.emails[0].To != "admin@example.com" || !strings.Contains(d.emails[0].Text, "https://login.example.com/") {
		t.Fatalf("sent %+v", d.emails)
	}
}

// The Caddyfile's templates directory makes every template read-only.
func TestTemplatesDirLocksTemplates(t *testing.T) {
	b := testBase()
	b.TemplatesDir = t.TempDir()
	e := newEnv(t, b)
	_, err := e.svc.Update(t.Context(), json.RawMessage(`{"branding":{"templates":{"sms.login_code":"{{.Code}}"}}}`), 0, "u1")
	fieldError(t, err, "branding.templates.sms.login_code")
}

func TestETag(t *testing.T) {
	for _, c := range []struct {
		in   string
		v    int64
		okay bool
	}{{`"3"`, 3, true}, {`W/"7"`, 7, true}, {`3`, 0, false}, {`"-1"`, 0, false}, {`"x"`, 0, false}} {
		v, ok := ParseETag(c.in)
		if v != c.v || ok != c.okay {
			t.Errorf("ParseETag(%s) = %d, %v", c.in, v, ok)
		}
	}
	if v, ok := ParseETag(ETag(42)); !ok || v != 42 {
		t.Error("ETag does not round-trip")
	}
}

// A stored session lifetime cannot outlive the session cookie (its Max-Age is fixed at
// start from the Caddyfile's lifetime).
func TestSessionLifetimeBoundedByCookie(t *testing.T) {
	b := testBase()
	b.MaxSessionLifetime = 14 * 24 * time.Hour
	e := newEnv(t, b)
	_, err := e.svc.Update(t.Context(), json.RawMessage(`{"login":{"session_lifetime":"400h"}}`), 0, "u1")
	fieldError(t, err, FieldSessionLifetime)
	if _, err := e.svc.Update(t.Context(), json.RawMessage(`{"login":{"session_lifetime":"48h","session_idle":"1h"}}`), 0, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := e.view.Load().Effective; got.SessionLifetime != 48*time.Hour || got.SessionIdle != time.Hour {
		t.Fatalf("lifetimes %v / %v", got.SessionIdle, got.SessionLifetime)
	}
}
