package console_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/handlers/console"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
)

// env is the console and the Administration API on a portal test server, as module/portal.go
// mounts them, with an administrator (group admins) next to portaltest's alice (group staff).
type env struct {
	*portaltest.Env
	admin    store.User
	settings *settings.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	pe := portaltest.New(t)
	p, kit := pe.P, pe.Kit
	sealer, err := settings.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	// The Caddyfile sets the sign-up mode: read-only in the console.
	base := settings.Defaults()
	base.Signup = settings.SignupInvite
	view := settings.NewView(settings.Base{Values: base, Set: map[string]bool{settings.FieldSignup: true},
		EmailAvailable: true, PasskeysAvailable: true}, pe.Store, sealer, nil)
	if err := view.Refresh(pe.Ctx); err != nil {
		t.Fatal(err)
	}
	svc := settings.NewService(pe.Store, view, sealer, nil)
	api := adminv1.New(adminv1.Deps{Tokens: p.Verifier, Sessions: p.Sessions, SessionSecret: kit.Cookie.Secret, CSRF: kit.CSRF,
		Issuer: pe.Srv.URL, Now: pe.Clock.Now, Users: p.Accounts, Passkeys: p.Passkey, Identities: p.Social,
		UserSessions: p.Sessions, Invites: p.Signup, Recovery: p.Recovery, Clients: p.OAuth, Groups: p.Accounts, AuditLog: pe.Store, Settings: svc})
	pe.Mux.Handle(adminv1.Prefix+"/", api)
	pe.Mount(&console.Handler{Kit: kit, API: api})
	admin, err := p.Accounts.Create(pe.Ctx, idp.NewUser{Email: "root@example.com", Password: "admin password of 16+",
		Groups: []string{"admins"}, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	return &env{Env: pe, admin: admin, settings: svc}
}

// as returns a browser logged in as u with the login methods amr.
func (e *env) as(t testing.TB, u store.User, amr ...string) *portaltest.Browser {
	t.Helper()
	b := e.Browser()
	sec, _, err := e.P.Sessions.Start(e.Ctx, u, amr, sessions.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := e.Kit.Cookie.Issue(rec, httptest.NewRequest("GET", e.Srv.URL+"/", nil), sec); err != nil {
		t.Fatal(err)
	}
	srv, _ := url.Parse(e.Srv.URL + "/")
	b.Client.Jar.SetCookies(srv, rec.Result().Cookies())
	return b
}

func (e *env) user(t testing.TB, email string) store.User {
	t.Helper()
	u, err := e.P.Accounts.Get(e.Ctx, email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func status(t *testing.T, r *portaltest.Response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %.600s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
}

var etagField = regexp.MustCompile(`name="etag" value="([^"]+)"`)

// Issue 18: "Only members of the admin group (admin_group, default admins) get in".
func TestOnlyAdministratorsGetIn(t *testing.T) {
	e := newEnv(t)

	anon := e.Browser().Get("/admin/users")
	status(t, anon, http.StatusSeeOther)
	if loc := anon.Location(); loc != "/login?return_to="+url.QueryEscape("/admin/users") {
		t.Errorf("without a session: to %q, want the login page coming back", loc)
	}

	alice := e.as(t, e.User, "pwd", "mfa")
	for _, p := range []string{"/admin/", "/admin/users", "/admin/users/" + e.admin.ID, "/admin/clients", "/admin/groups", "/admin/audit"} {
		r := alice.Get(p)
		status(t, r, http.StatusForbidden)
		if !strings.Contains(r.Body, "Only administrators") || strings.Contains(r.Body, e.admin.Email) {
			t.Errorf("%s as a non-administrator: %.300s", p, r.Body)
		}
	}
	// A non-administrator's form, even with a valid CSRF token, changes nothing.
	r := alice.PostForm("/admin/users/"+e.User.ID+"/edit", url.Values{"roles": {"owner"}, "etag": {"*"}})
	status(t, r, http.StatusForbidden)
	if u := e.user(t, e.User.Email); len(u.Roles) != 0 {
		t.Fatalf("a non-administrator gave roles: %v", u.Roles)
	}

	// An administrator who loses the group is refused on the next request.
	root := e.as(t, e.admin, "pwd", "mfa")
	status(t, root.Get("/admin/"), http.StatusOK)
	if _, err := e.P.Accounts.SetGroups(e.Ctx, e.admin.ID, []string{"staff"}); err != nil {
		t.Skipf("SetGroups: %v", err)
	}
	status(t, root.Get("/admin/"), http.StatusForbidden)
}

// Issue 18: "writes need the fresh MFA login (admin_max_age), and a stale one is sent
// through a step-up login and back"; "CSRF token on every form".
func TestWritesNeedFreshMFAAndCSRF(t *testing.T) {
	e := newEnv(t)
	target := "/admin/users/" + e.User.ID

	// A password-only login reads but does not write: step-up, and back to the page.
	pwd := e.as(t, e.admin, "pwd")
	status(t, pwd.Get(target), http.StatusOK)
	r := pwd.PostForm(target+"/disable", nil)
	status(t, r, http.StatusSeeOther)
	if want := "/login?return_to=" + url.QueryEscape(target); r.Location() != want {
		t.Errorf("single-factor write: to %q, want %q", r.Location(), want)
	}

	// A multi-factor login older than admin_max_age (15 minutes) is stale.
	mfa := e.as(t, e.admin, "pwd", "mfa")
	e.Clock.Advance(16 * time.Minute)
	r = mfa.PostForm(target+"/disable", nil)
	status(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.Location(), "/login?return_to=") {
		t.Errorf("stale MFA: to %q, want the step-up login", r.Location())
	}
	if e.user(t, e.User.Email).Disabled {
		t.Fatal("a write without a fresh multi-factor login disabled the user")
	}

	fresh := e.as(t, e.admin, "pwd", "mfa")
	// A form without its CSRF token, or with another browser's, is refused.
	status(t, fresh.PostForm(target+"/disable", url.Values{"csrf_token": {""}}), http.StatusForbidden)
	status(t, fresh.PostForm(target+"/disable", url.Values{"csrf_token": {e.Browser().CSRF()}}), http.StatusForbidden)
	// Another site's post is refused before anything runs.
	fresh.Header.Set("Sec-Fetch-Site", "cross-site")
	status(t, fresh.PostForm(target+"/disable", nil), http.StatusForbidden)
	fresh.Header.Del("Sec-Fetch-Site")
	if e.user(t, e.User.Email).Disabled {
		t.Fatal("a refused form disabled the user")
	}

	r = fresh.PostForm(target+"/disable", nil)
	status(t, r, http.StatusSeeOther)
	if !e.user(t, e.User.Email).Disabled {
		t.Fatal("the administrator's form did not disable the user")
	}
	status(t, fresh.PostForm(target+"/enable", nil), http.StatusSeeOther)
	if e.user(t, e.User.Email).Disabled {
		t.Fatal("enable")
	}
}

// Issue 18: users — "search/filter, paginate, create with invitation, view everything, edit,
// disable/enable, delete with confirmation, revoke sessions, ... roles and groups"; each
// through the API (its validation, its ETags, its audit trail).
func TestUsers(t *testing.T) {
	e := newEnv(t)
	b := e.as(t, e.admin, "pwd", "mfa")

	r := b.PostForm("/admin/users", url.Values{"email": {"new@example.com"}, "fname": {"Nova"}, "groups": {"staff, ops"}})
	status(t, r, http.StatusSeeOther)
	nu := e.user(t, "new@example.com")
	if r.Location() != "/admin/users/"+nu.ID || nu.FirstName != "Nova" || len(nu.Groups) != 2 {
		t.Fatalf("created %+v, to %q", nu, r.Location())
	}
	// Issue 18: "create (...; send an invitation or a recovery code)": the link and code
	// are on this answer only, not cached, and work in the recovery flow.
	r = b.PostForm("/admin/users", url.Values{"email": {"handed@example.com"}, "email_verified": {"1"}, "recovery": {"code"}})
	status(t, r, http.StatusCreated)
	link := regexp.MustCompile(`data-recovery-url>([^<]+)<`).FindStringSubmatch(r.Body)
	code := regexp.MustCompile(`data-recovery-code>(\d{6})<`).FindStringSubmatch(r.Body)
	if link == nil || code == nil || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("recovery code not shown once: %.3000s", r.Body)
	}
	ru, err := url.Parse(html.UnescapeString(link[1]))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.P.Recovery.Finish(e.Ctx, ru.Query().Get("flow"), code[1], "192.0.2.9"); err != nil || res.User.Email != "handed@example.com" {
		t.Fatalf("the console's recovery code: %v", err)
	}
	if page := b.Get("/admin/users/" + e.user(t, "handed@example.com").ID).Body; strings.Contains(page, code[1]) {
		t.Error("the user's page shows the recovery code again")
	}
	// The API's validation, shown on the page, naming the field.
	r = b.PostForm("/admin/users", url.Values{"email": {"not an address"}})
	status(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "email") {
		t.Errorf("invalid email: %.400s", r.Body)
	}
	r = b.PostForm("/admin/users", url.Values{"email": {"new@example.com"}})
	status(t, r, http.StatusBadRequest)

	list := b.Get("/admin/users?group=ops")
	status(t, list, http.StatusOK)
	if !strings.Contains(list.Body, "new@example.com") || strings.Contains(list.Body, e.User.Email) {
		t.Errorf("filter by group: %.1000s", list.Body)
	}

	page := b.Get("/admin/users/" + nu.ID)
	status(t, page, http.StatusOK)
	m := etagField.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatal("no etag on the user page")
	}
	etag := strings.ReplaceAll(m[1], "&#34;", `"`)
	r = b.PostForm("/admin/users/"+nu.ID+"/edit", url.Values{"etag": {etag}, "fname": {"Nova"}, "groups": {"staff"}, "roles": {"editor"}})
	status(t, r, http.StatusSeeOther)
	if u := e.user(t, "new@example.com"); len(u.Roles) != 1 || u.Roles[0] != "editor" || len(u.Groups) != 1 {
		t.Fatalf("edit: %+v", u)
	}
	// The same (now stale) ETag: another admin's change is not overwritten silently.
	r = b.PostForm("/admin/users/"+nu.ID+"/edit", url.Values{"etag": {etag}, "roles": {"owner"}})
	status(t, r, http.StatusBadRequest)
	if u := e.user(t, "new@example.com"); u.Roles[0] != "editor" {
		t.Fatalf("a stale edit applied: %v", u.Roles)
	}

	status(t, b.PostForm("/admin/users/"+nu.ID+"/sessions", nil), http.StatusSeeOther)

	// custom_data: JSON, through the API's If-Match and its 100 KB cap.
	page = b.Get("/admin/users/" + nu.ID)
	etag = strings.ReplaceAll(etagField.FindStringSubmatch(page.Body)[1], "&#34;", `"`)
	status(t, b.PostForm("/admin/users/"+nu.ID+"/custom_data", url.Values{"etag": {etag}, "custom_data": {`{"plan":`}}), http.StatusBadRequest)
	status(t, b.PostForm("/admin/users/"+nu.ID+"/custom_data", url.Values{"etag": {etag}, "custom_data": {`{"big":"` + strings.Repeat("x", 101<<10) + `"}`}}), http.StatusBadRequest)
	status(t, b.PostForm("/admin/users/"+nu.ID+"/custom_data", url.Values{"etag": {etag}, "custom_data": {`{"plan":"pro"}`}}), http.StatusSeeOther)
	if u := e.user(t, "new@example.com"); !strings.Contains(string(u.CustomData), "pro") {
		t.Fatalf("custom_data: %s", u.CustomData)
	}

	inv := b.PostForm("/admin/invitations", url.Values{"email": {"guest@example.com"}})
	status(t, inv, http.StatusOK)
	if !strings.Contains(inv.Body, "data-invitation-url") {
		t.Errorf("invitation URL not shown: %.600s", inv.Body)
	}

	// Delete needs the email typed as confirmation.
	page = b.Get("/admin/users/" + nu.ID)
	etag = strings.ReplaceAll(etagField.FindStringSubmatch(page.Body)[1], "&#34;", `"`)
	status(t, b.PostForm("/admin/users/"+nu.ID+"/delete", url.Values{"etag": {etag}, "email": {"new@example.com"}, "confirm": {"yes"}}), http.StatusBadRequest)
	r = b.PostForm("/admin/users/"+nu.ID+"/delete", url.Values{"etag": {etag}, "email": {"new@example.com"}, "confirm": {"new@example.com"}})
	status(t, r, http.StatusSeeOther)
	if _, err := e.P.Accounts.Get(e.Ctx, "new@example.com"); err == nil {
		t.Fatal("the user is still there")
	}
	status(t, b.Get("/admin/users/"+nu.ID), http.StatusNotFound)
}

// Issue 18: clients — "create showing the secret exactly once; edit redirect URIs; disable;
// rotate secret once"; redirect URIs validated with the same rules as the Caddyfile.
func TestClients(t *testing.T) {
	e := newEnv(t)
	b := e.as(t, e.admin, "pwd", "mfa")

	r := b.PostForm("/admin/clients", url.Values{"name": {"Wiki"}, "redirect_uris": {"javascript:alert(1)"}, "scopes": {"openid"}})
	status(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "redirect_uris") {
		t.Errorf("bad redirect URI: %.500s", r.Body)
	}

	r = b.PostForm("/admin/clients", url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.com/cb"}, "scopes": {"openid, email"}})
	status(t, r, http.StatusCreated)
	id := regexp.MustCompile(`data-created-client="([^"]+)"`).FindStringSubmatch(r.Body)
	sec := regexp.MustCompile(`data-secret>([^<]+)<`).FindStringSubmatch(r.Body)
	if id == nil || sec == nil || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created client and its secret not shown: %.800s", r.Body)
	}
	page := b.Get("/admin/clients/" + id[1])
	status(t, page, http.StatusOK)
	if strings.Contains(page.Body, sec[1]) || strings.Contains(b.Get("/admin/clients").Body, sec[1]) {
		t.Fatal("the secret is shown again")
	}
	etag := strings.ReplaceAll(etagField.FindStringSubmatch(page.Body)[1], "&#34;", `"`)
	r = b.PostForm("/admin/clients/"+id[1]+"/edit", url.Values{"etag": {etag}, "name": {"Wiki"}, "scopes": {"openid, email"},
		"redirect_uris": {"https://wiki.example.com/cb\nhttps://wiki.example.com/cb2"}})
	status(t, r, http.StatusSeeOther)
	if !strings.Contains(b.Get("/admin/clients/"+id[1]).Body, "https://wiki.example.com/cb2") {
		t.Fatal("redirect URI not added")
	}

	rot := b.PostForm("/admin/clients/"+id[1]+"/secret", nil)
	status(t, rot, http.StatusOK)
	sec2 := regexp.MustCompile(`data-secret>([^<]+)<`).FindStringSubmatch(rot.Body)
	if sec2 == nil || sec2[1] == sec[1] {
		t.Fatalf("rotated secret: %.500s", rot.Body)
	}
	status(t, b.PostForm("/admin/clients/"+id[1]+"/disable", nil), http.StatusSeeOther)

	// A client of the Caddyfile is shown read-only, and a change of it is refused.
	cf := b.Get("/admin/clients/" + e.Web.ID)
	status(t, cf, http.StatusOK)
	if !strings.Contains(cf.Body, "data-readonly") || strings.Contains(cf.Body, "data-edit-client") {
		t.Errorf("Caddyfile client page: %.1500s", cf.Body)
	}
	r = b.PostForm("/admin/clients/"+e.Web.ID+"/disable", nil)
	status(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "Caddyfile") {
		t.Errorf("disabling a Caddyfile client: %.500s", r.Body)
	}
	if !strings.Contains(b.Get("/admin/clients/"+id[1]).Body, `data-status="disabled"`) {
		t.Fatal("not disabled")
	}
}

// Issue 18: a client created in the console may get gatehouse:admin ("machine
// automation"): the checkbox carries a warning, a public client is refused naming the
// field, and the client's page marks it.
func TestAdminClientCheckbox(t *testing.T) {
	e := newEnv(t)
	b := e.as(t, e.admin, "pwd", "mfa")
	list := b.Get("/admin/clients")
	status(t, list, http.StatusOK)
	if !strings.Contains(list.Body, `name="admin"`) || !strings.Contains(list.Body, "data-admin-warning") {
		t.Fatalf("no admin checkbox with its warning: %.3000s", list.Body)
	}
	r := b.PostForm("/admin/clients", url.Values{"name": {"SPA"}, "public": {"1"}, "admin": {"1"}, "redirect_uris": {"https://spa.example.com/cb"},
		"grant_types": {"authorization_code, client_credentials"}})
	status(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "admin") {
		t.Errorf("a public admin client: %.500s", r.Body)
	}
	r = b.PostForm("/admin/clients", url.Values{"name": {"Robot"}, "admin": {"1"}, "grant_types": {"client_credentials"}, "scopes": {"read"}})
	status(t, r, http.StatusCreated)
	id := regexp.MustCompile(`data-created-client="([^"]+)"`).FindStringSubmatch(r.Body)
	if id == nil {
		t.Fatalf("not created: %.800s", r.Body)
	}
	c, err := e.P.OAuth.Client(e.Ctx, id[1])
	if err != nil || !c.AllowsScope(adminv1.Scope) {
		t.Fatalf("the console's admin client is not allowed %s: %v", adminv1.Scope, err)
	}
	if page := b.Get("/admin/clients/" + id[1]).Body; !strings.Contains(page, "data-admin") || !strings.Contains(page, `name="admin" value="1" aria-describedby="admin-warning" checked`) {
		t.Errorf("the client's page does not mark it administrator: %.3000s", page)
	}
}

// Issue 18: "audit log browser (filter by user, actor, type, time; link to JSON-lines
// export)" and the dashboard's "counts, recent audit events".
func TestAuditAndDashboard(t *testing.T) {
	e := newEnv(t)
	b := e.as(t, e.admin, "pwd", "mfa")
	dash := b.Get("/admin/")
	status(t, dash, http.StatusOK)
	if !strings.Contains(dash.Body, `data-count="users">2<`) {
		t.Errorf("dashboard user count: %.1500s", dash.Body)
	}
	a := b.Get("/admin/audit?type=login.failed&since=2026-01-01T00:00")
	status(t, a, http.StatusOK)
	if !strings.Contains(a.Body, "/api/admin/v1/audit/export?") || !strings.Contains(a.Body, "type=login.failed") {
		t.Errorf("export link: %.1500s", a.Body)
	}
	bad := b.Get("/admin/audit?since=2026-13-45T99:99")
	status(t, bad, http.StatusBadRequest)
	groups := b.Get("/admin/groups")
	status(t, groups, http.StatusOK)
	r := b.PostForm("/admin/groups/_/save", url.Values{"name": {"ops"}, "custom_data": {`{"floor": 3}`}})
	status(t, r, http.StatusSeeOther)
	if !strings.Contains(b.Get("/admin/groups").Body, "floor") {
		t.Fatal("group data not saved")
	}
	status(t, b.PostForm("/admin/groups/_/save", url.Values{"name": {"ops"}, "custom_data": {`[1`}}), http.StatusBadRequest)

	// Issue 18: "Concurrent edits conflict cleanly (412)": each group's form carries the
	// ETag of the page; a save over a newer change is refused and changes nothing, and the
	// "new group" form does not overwrite a group that has data.
	m := regexp.MustCompile(`data-group="ops">[\s\S]*?name="etag" value="([^"]+)"`).FindStringSubmatch(b.Get("/admin/groups").Body)
	if m == nil {
		t.Fatal("the group's form has no etag")
	}
	etag := html.UnescapeString(m[1])
	status(t, b.PostForm("/admin/groups/ops/save", url.Values{"etag": {etag}, "custom_data": {`{"floor": 4}`}}), http.StatusSeeOther)
	stale := b.PostForm("/admin/groups/ops/save", url.Values{"etag": {etag}, "custom_data": {`{"floor": 5}`}})
	status(t, stale, http.StatusBadRequest)
	status(t, b.PostForm("/admin/groups/ops/delete", url.Values{"etag": {etag}}), http.StatusBadRequest)
	status(t, b.PostForm("/admin/groups/_/save", url.Values{"name": {"ops"}, "custom_data": {`{"floor": 6}`}}), http.StatusBadRequest)
	if body := b.Get("/admin/groups").Body; !strings.Contains(body, "&#34;floor&#34;:4") && !strings.Contains(body, `"floor":4`) {
		t.Errorf("a refused save changed the data: %.2000s", body)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
