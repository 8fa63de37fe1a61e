package adminv1_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

const (
	sessionCookie = "test_session"
	csrfCookie    = "test_csrf"
	csrfSecret    = "0123456789abcdef0123456789abcdef"
	adminPassword = "admin password of 16+"
)

// recorder keeps the audit events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// env is the API on the real identity core (idptest: the provider as module/app.go builds
// it): an administrator in group admins, a client "automation" allowed gatehouse:admin
// with the API as resource, and a client "reader" without that scope.
type env struct {
	*idptest.Env
	h     *adminv1.Handler
	deps  adminv1.Deps
	csrf  *web.CSRF
	audit *recorder
	admin store.User
	// token is a client_credentials token of automation with gatehouse:admin.
	token string
}

func newEnv(t testing.TB) *env { return newEnvOn(t, memory.New()) }

func newEnvOn(t testing.TB, s store.Store, mod ...func(*idp.Config)) *env {
	t.Helper()
	ie := idptest.NewOn(t, s, nil, mod...)
	e := &env{Env: ie, audit: &recorder{},
		csrf: &web.CSRF{Key: make([]byte, 32), CookieName: csrfCookie, NewSecret: func() string { return csrfSecret }}}
	p := ie.P
	e.deps = adminv1.Deps{Tokens: p.Verifier, Sessions: p.Sessions, CSRF: e.csrf, Issuer: idptest.Issuer,
		SessionSecret: func(r *http.Request) string {
			c, err := r.Cookie(sessionCookie)
			if err != nil {
				return ""
			}
			return c.Value
		},
		Now: ie.Clock.Now, Audit: e.audit, Users: p.Accounts, Passkeys: p.Passkey, Identities: p.Social, UserSessions: p.Sessions,
		Invites: p.Signup, Recovery: p.Recovery, Clients: p.OAuth, Groups: p.Accounts, AuditLog: ie.Store, Settings: newSettings(t, ie.Store)}
	e.h = adminv1.New(e.deps)
	var err error
	e.admin, err = p.Accounts.Create(ie.Ctx, idp.NewUser{Email: "root@example.com", Password: adminPassword, Groups: []string{"admins"}, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	e.token = e.clientToken(t, "automation", adminv1.Scope)
	return e
}

// newSettings is a runtime-settings service on st whose Caddyfile sets the sign-up mode
// (read-only), with an email sender and passkeys available.
func newSettings(t testing.TB, st store.Store) *settings.Service {
	t.Helper()
	sealer, err := settings.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	base := settings.Base{Values: settings.Defaults(), Set: map[string]bool{settings.FieldSignup: true},
		EmailAvailable: true, PasskeysAvailable: true}
	view := settings.NewView(base, st, sealer, nil)
	if err := view.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := settings.NewService(st, view, sealer, nil)
	svc.Issuer = idptest.Issuer
	return svc
}

// clientToken runs the client_credentials grant for a client allowed scope, with the API as
// its resource.
func (e *env) clientToken(t testing.TB, id, scope string) string {
	t.Helper()
	aud := idptest.Issuer + adminv1.Prefix
	c, err := idp.NewClient(idp.ClientConfig{ID: id, Secret: "client secret of 16+ chars", GrantTypes: []string{"client_credentials"},
		Scopes: []string{scope}, Resources: []string{aud}})
	if err != nil {
		t.Fatal(err)
	}
	e.P.OAuth.Configured[id] = c // as a Caddyfile client
	resp, oerr := e.P.OAuth.ClientCredentialsGrant(e.Ctx, c, oauth.ClientCredentialsRequest{Scopes: []string{scope}, Resources: []string{aud}})
	if oerr != nil {
		t.Fatalf("client_credentials: %v", oerr)
	}
	return resp.AccessToken
}

// session starts a portal session for u with amr and returns a credential adding its cookie.
func (e *env) session(t testing.TB, u store.User, amr ...string) string {
	t.Helper()
	sec, _, err := e.P.Sessions.Start(e.Ctx, u, amr, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

type cred func(*http.Request)

func bearer(tok string) cred {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// withSession sends the session cookie, and the CSRF cookie and header when csrf is set.
func (e *env) withSession(sec string, csrf bool) cred {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: sec})
		if csrf {
			r.AddCookie(&http.Cookie{Name: csrfCookie, Value: csrfSecret})
			r.Header.Set(adminv1.CSRFHeader, e.csrf.Token(httptest.NewRecorder(), r))
		}
	}
}

func none(*http.Request) {}

// call sends one request; extra headers are "Name: value" strings.
func (e *env) call(c cred, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	return e.callOn(e.h, c, method, path, body, headers...)
}

// callOn is call on handler h (another instance of the API on the same store).
func (e *env) callOn(h *adminv1.Handler, c cred, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, adminv1.Prefix+path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	c(r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func (e *env) adminCall(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	return e.call(bearer(e.token), method, path, body, headers...)
}

func problem(t *testing.T, w *httptest.ResponseRecorder, status int) adminv1.Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, w.Body)
	}
	var p adminv1.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, w.Body)
	}
	return p
}

func decodeBody[T any](t *testing.T, w *httptest.ResponseRecorder, status int) T {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body: %v: %s", err, w.Body)
	}
	return v
}

// Issue 18: "Callers authenticate with an access token from the client_credentials grant
// carrying the scope gatehouse:admin ... or with an admin's portal session plus CSRF token";
// "Only members of the admin group ... and only after a multi-factor login ... no older
// than admin_max_age (default 15 minutes) for writes"; "An admin session that loses the
// admin group is refused on its next request."
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	disable := `{}`
	target := "/users/" + e.User.ID + "/disable"
	mfa := e.session(t, e.admin, "pwd", "mfa")

	t.Run("no credentials", func(t *testing.T) {
		w := e.call(none, "GET", "/users", "")
		problem(t, w, http.StatusUnauthorized)
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("forged token", func(t *testing.T) {
		w := e.call(bearer(e.token[:len(e.token)-4]+"AAAA"), "GET", "/users", "")
		problem(t, w, http.StatusUnauthorized)
		if !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("token without gatehouse:admin", func(t *testing.T) {
		tok := e.clientToken(t, "reader", "read")
		p := problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusForbidden)
		if p.Missing != adminv1.MissingScope {
			t.Errorf("missing = %q, want scope", p.Missing)
		}
	})
	t.Run("a user's token", func(t *testing.T) {
		// A token of the code flow is for the web client, not for the API (audience).
		resp, _ := e.Tokens("openid")
		problem(t, e.call(bearer(resp.AccessToken), "GET", "/users", ""), http.StatusUnauthorized)
	})
	t.Run("revoked token", func(t *testing.T) {
		tok := e.clientToken(t, "automation", adminv1.Scope)
		c, _ := idp.NewClient(idp.ClientConfig{ID: "automation", Secret: "client secret of 16+ chars", GrantTypes: []string{"client_credentials"},
			Scopes: []string{adminv1.Scope}})
		if oerr := e.P.OAuth.Revoke(e.Ctx, c, tok, oauth.AccessTokenHint); oerr != nil {
			t.Fatal(oerr)
		}
		problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusUnauthorized)
	})
	t.Run("token works", func(t *testing.T) {
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.adminCall("GET", "/users", ""), http.StatusOK)
	})
	// A leaked admin token must stop working when incident response removes its client or
	// the scope, not when it expires (security review of the admin API).
	t.Run("client removed from the configuration", func(t *testing.T) {
		tok := e.clientToken(t, "ci", adminv1.Scope)
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(bearer(tok), "GET", "/users", ""), http.StatusOK)
		delete(e.P.OAuth.Configured, "ci")
		problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusUnauthorized)
	})
	t.Run("client no longer allowed the scope", func(t *testing.T) {
		tok := e.clientToken(t, "ops", adminv1.Scope)
		c, err := idp.NewClient(idp.ClientConfig{ID: "ops", Secret: "client secret of 16+ chars", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"read"}})
		if err != nil {
			t.Fatal(err)
		}
		e.P.OAuth.Configured["ops"] = c
		p := problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusForbidden)
		if p.Missing != adminv1.MissingScope {
			t.Errorf("missing = %q, want scope", p.Missing)
		}
	})
	t.Run("non-admin session", func(t *testing.T) {
		sec := e.session(t, e.User, "pwd", "mfa")
		p := problem(t, e.call(e.withSession(sec, true), "GET", "/users", ""), http.StatusForbidden)
		if p.Missing != adminv1.MissingGroup {
			t.Errorf("missing = %q, want group", p.Missing)
		}
	})
	t.Run("admin session reads", func(t *testing.T) {
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(e.withSession(mfa, false), "GET", "/users", ""), http.StatusOK)
	})
	t.Run("the console reads its CSRF token", func(t *testing.T) {
		me := decodeBody[adminv1.Me](t, e.call(e.withSession(mfa, true), "GET", "/me", ""), http.StatusOK)
		if me.UserID != e.admin.ID || me.CSRFToken == "" {
			t.Errorf("me = %+v", me)
		}
	})
	t.Run("missing CSRF", func(t *testing.T) {
		p := problem(t, e.call(e.withSession(mfa, false), "POST", target, disable), http.StatusForbidden)
		if p.Missing != adminv1.MissingCSRF {
			t.Errorf("missing = %q, want csrf_token", p.Missing)
		}
	})
	t.Run("single-factor login", func(t *testing.T) {
		sec := e.session(t, e.admin, "pwd")
		p := problem(t, e.call(e.withSession(sec, true), "POST", target, disable), http.StatusForbidden)
		if p.Missing != adminv1.MissingFreshMFA {
			t.Errorf("missing = %q, want fresh_mfa", p.Missing)
		}
	})
	t.Run("admin session writes", func(t *testing.T) {
		u := decodeBody[adminv1.UserDetail](t, e.call(e.withSession(mfa, true), "POST", "/users/"+e.User.ID+"/enable", disable), http.StatusOK)
		if u.Disabled {
			t.Error("still disabled")
		}
		ev := e.audit.all()
		if len(ev) == 0 || ev[len(ev)-1].Actor != e.admin.ID || ev[len(ev)-1].Type != audit.AdminWrite {
			t.Errorf("audit = %+v, want an admin.write by %s", ev, e.admin.ID)
		}
	})
	t.Run("stale MFA", func(t *testing.T) {
		passkey := e.session(t, e.admin, "webauthn")
		e.Clock.Advance(16 * time.Minute)
		p := problem(t, e.call(e.withSession(passkey, true), "POST", target, disable), http.StatusForbidden)
		if p.Missing != adminv1.MissingFreshMFA {
			t.Errorf("missing = %q, want fresh_mfa", p.Missing)
		}
		// Reads need no fresh login.
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(e.withSession(passkey, false), "GET", "/users", ""), http.StatusOK)
	})
	t.Run("admin who lost the group", func(t *testing.T) {
		sec := e.session(t, e.admin, "webauthn")
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(e.withSession(sec, false), "GET", "/users", ""), http.StatusOK)
		if _, err := e.P.Accounts.SetGroups(e.Ctx, e.admin.ID, nil); err != nil {
			t.Fatal(err)
		}
		p := problem(t, e.call(e.withSession(sec, false), "GET", "/users", ""), http.StatusForbidden)
		if p.Missing != adminv1.MissingGroup {
			t.Errorf("missing = %q, want group", p.Missing)
		}
	})
}

// Issue 18, Users: create, view, edit (If-Match), disable/enable, revoke sessions, delete;
// "Concurrent edits conflict cleanly (412)"; "unknown fields are refused"; "a custom_data
// over 100 KB is a 4xx, never a half-applied change".
func TestUsers(t *testing.T) {
	e := newEnv(t)
	w := e.adminCall("POST", "/users", `{"email":"bob@example.com","fname":"Bob","groups":["staff","ops"]}`)
	bob := decodeBody[adminv1.UserDetail](t, w, http.StatusCreated)
	if bob.Email != "bob@example.com" || !bob.EmailVerified || w.Header().Get("ETag") == "" || w.Header().Get("Location") == "" {
		t.Fatalf("created %+v, headers %v", bob, w.Header())
	}
	p := problem(t, e.adminCall("POST", "/users", `{"email":"carol@example.com","nickname":"c"}`), http.StatusBadRequest)
	if p.Field != "nickname" {
		t.Errorf("unknown field: field = %q, want nickname", p.Field)
	}
	problem(t, e.adminCall("POST", "/users", `{"email":"bob@example.com"}`), http.StatusConflict)
	p = problem(t, e.adminCall("POST", "/users", `{"email":"dave@example.com","password":"short"}`), http.StatusBadRequest)
	if p.Field != "password" {
		t.Errorf("weak password: field = %q", p.Field)
	}

	w = e.adminCall("GET", "/users/"+bob.ID, "")
	etag := w.Header().Get("ETag")
	got := decodeBody[adminv1.UserDetail](t, w, http.StatusOK)
	if got.FirstName != "Bob" || !slices.Equal(got.Groups, []string{"staff", "ops"}) || got.Passkeys == nil || got.Sessions == nil {
		t.Fatalf("detail = %+v", got)
	}

	// If-Match is required, a stale one fails, and of two admins who read the same version
	// the second write fails.
	problem(t, e.adminCall("PATCH", "/users/"+bob.ID, `{"lname":"Builder"}`), http.StatusPreconditionRequired)
	w = e.adminCall("PATCH", "/users/"+bob.ID, `{"lname":"Builder","groups":["staff"]}`, "If-Match: "+etag)
	got = decodeBody[adminv1.UserDetail](t, w, http.StatusOK)
	if got.LastName != "Builder" || !slices.Equal(got.Groups, []string{"staff"}) || w.Header().Get("ETag") == etag {
		t.Fatalf("patched %+v, etag %q (was %q)", got, w.Header().Get("ETag"), etag)
	}
	problem(t, e.adminCall("PATCH", "/users/"+bob.ID, `{"lname":"Other"}`, "If-Match: "+etag), http.StatusPreconditionFailed)
	if u, _ := e.P.Accounts.Get(e.Ctx, bob.ID); u.LastName != "Builder" {
		t.Errorf("the stale write changed the user: %q", u.LastName)
	}
	etag = w.Header().Get("ETag")

	// custom_data: at most 100 KB, else 413 naming the field and nothing written.
	big := `{"k":"` + strings.Repeat("x", 100*1024) + `"}`
	p = problem(t, e.adminCall("PUT", "/users/"+bob.ID+"/custom_data", big, "If-Match: "+etag), http.StatusRequestEntityTooLarge)
	if p.Field != "custom_data" {
		t.Errorf("custom_data too large: field %q", p.Field)
	}
	problem(t, e.adminCall("PUT", "/users/"+bob.ID+"/custom_data", `[1,2]`, "If-Match: "+etag), http.StatusBadRequest)
	w = e.adminCall("PUT", "/users/"+bob.ID+"/custom_data", `{"plan":"pro"}`, "If-Match: "+etag)
	got = decodeBody[adminv1.UserDetail](t, w, http.StatusOK)
	if string(got.CustomData) != `{"plan":"pro"}` {
		t.Errorf("custom_data = %s", got.CustomData)
	}
	etag = w.Header().Get("ETag")

	// Listing: filters and pagination.
	list := func(q string) adminv1.Page[adminv1.UserSummary] {
		return decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.adminCall("GET", "/users"+q, ""), http.StatusOK)
	}
	ids := func(pg adminv1.Page[adminv1.UserSummary]) []string {
		var out []string
		for _, u := range pg.Items {
			out = append(out, u.Email)
		}
		return out
	}
	if got := ids(list("?group=admins")); !slices.Equal(got, []string{"root@example.com"}) {
		t.Errorf("group=admins: %v", got)
	}
	if got := ids(list("?name=build")); !slices.Equal(got, []string{"bob@example.com"}) {
		t.Errorf("name=build: %v", got)
	}
	if got := ids(list("?email=ALICE@example.com")); !slices.Equal(got, []string{idptest.Alice}) {
		t.Errorf("email: %v", got)
	}
	problem(t, e.adminCall("GET", "/users?disabled=maybe", ""), http.StatusBadRequest)
	problem(t, e.adminCall("GET", "/users?limit=0", ""), http.StatusBadRequest)
	var all []string
	for after := ""; ; {
		pg := list("?limit=2&after=" + after)
		all = append(all, ids(pg)...)
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	if len(all) != 3 {
		t.Errorf("paged through %v, want 3 users", all)
	}

	// Disable ends the user's sessions; the filter finds the disabled user.
	sess := e.session(t, e.User, "pwd")
	decodeBody[adminv1.UserDetail](t, e.adminCall("POST", "/users/"+e.User.ID+"/disable", ""), http.StatusOK)
	if _, _, err := e.P.Sessions.Get(e.Ctx, sess); err == nil {
		t.Error("the disabled user's session still works")
	}
	if got := ids(list("?disabled=true")); !slices.Equal(got, []string{idptest.Alice}) {
		t.Errorf("disabled=true: %v", got)
	}
	decodeBody[adminv1.UserDetail](t, e.adminCall("POST", "/users/"+e.User.ID+"/enable", ""), http.StatusOK)

	// Revoke all sessions.
	sess = e.session(t, e.User, "pwd")
	if w := e.adminCall("DELETE", "/users/"+e.User.ID+"/sessions", ""); w.Code != http.StatusNoContent {
		t.Fatalf("revoke sessions: %d %s", w.Code, w.Body)
	}
	if _, _, err := e.P.Sessions.Get(e.Ctx, sess); err == nil {
		t.Error("a session survived revoke-all")
	}

	// Passkey and identity removal: 404 for what the user does not have.
	problem(t, e.adminCall("DELETE", "/users/"+bob.ID+"/passkeys/nope", ""), http.StatusNotFound)
	problem(t, e.adminCall("DELETE", "/users/"+bob.ID+"/identities/google/123", ""), http.StatusNotFound)
	if err := e.Store.CreatePasskey(e.Ctx, store.Passkey{ID: "pk-bob", UserID: bob.ID, Credential: json.RawMessage(`{}`), Name: "Laptop",
		CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	problem(t, e.adminCall("DELETE", "/users/"+e.User.ID+"/passkeys/pk-bob", ""), http.StatusNotFound)
	if w := e.adminCall("DELETE", "/users/"+bob.ID+"/passkeys/pk-bob", ""); w.Code != http.StatusNoContent {
		t.Fatalf("remove passkey: %d %s", w.Code, w.Body)
	}

	// Delete: If-Match, then 204 and 404.
	problem(t, e.adminCall("DELETE", "/users/"+bob.ID, ""), http.StatusPreconditionRequired)
	problem(t, e.adminCall("DELETE", "/users/"+bob.ID, "", `If-Match: "stale"`), http.StatusPreconditionFailed)
	etag = e.adminCall("GET", "/users/"+bob.ID, "").Header().Get("ETag")
	if w := e.adminCall("DELETE", "/users/"+bob.ID, "", "If-Match: "+etag); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	problem(t, e.adminCall("GET", "/users/"+bob.ID, ""), http.StatusNotFound)

	// Every write was audited, by the client.
	writes := 0
	for _, ev := range e.audit.all() {
		if ev.Type != audit.AdminWrite || ev.Actor != "client:automation" {
			t.Errorf("audit event %+v", ev)
		}
		writes++
	}
	if writes != 8 {
		t.Errorf("%d audit events, want one per successful write (8)", writes)
	}
}

// Issue 18: "OIDC clients (create, edit, disable, rotate secret shown exactly once, redirect
// URIs validated with the same rules as the Caddyfile)"; "what the Caddyfile declares is
// shown read-only".
func TestClients(t *testing.T) {
	e := newEnv(t)
	p := problem(t, e.adminCall("POST", "/clients", `{"name":"App","redirect_uris":["https://app.test/cb","javascript:alert(1)"]}`), http.StatusBadRequest)
	if p.Field != "redirect_uris[1]" {
		t.Errorf("javascript: redirect URI: field %q, want redirect_uris[1]", p.Field)
	}
	p = problem(t, e.adminCall("POST", "/clients", `{"name":"App","redirect_uris":["https://app.test/cb#frag"]}`), http.StatusBadRequest)
	if p.Field != "redirect_uris[0]" {
		t.Errorf("fragment: field %q", p.Field)
	}
	w := e.adminCall("POST", "/clients", `{"name":"App","redirect_uris":["https://app.test/cb"]}`)
	c := decodeBody[adminv1.ClientView](t, w, http.StatusCreated)
	if c.Secret == "" || c.Source != adminv1.SourceStore || c.Public {
		t.Fatalf("created %+v", c)
	}
	secret := c.Secret
	client, err := e.P.OAuth.Client(e.Ctx, c.ID)
	if err != nil || !client.Authenticate(secret) {
		t.Fatalf("the created client does not authenticate with its secret: %v", err)
	}
	w = e.adminCall("GET", "/clients/"+c.ID, "")
	got := decodeBody[adminv1.ClientView](t, w, http.StatusOK)
	if got.Secret != "" || strings.Contains(w.Body.String(), secret) {
		t.Errorf("the secret is shown again: %s", w.Body)
	}
	etag := w.Header().Get("ETag")
	problem(t, e.adminCall("PUT", "/clients/"+c.ID, `{"name":"App 2","redirect_uris":["https://app.test/cb"]}`), http.StatusPreconditionRequired)
	got = decodeBody[adminv1.ClientView](t, e.adminCall("PUT", "/clients/"+c.ID, `{"name":"App 2","redirect_uris":["https://app.test/cb2"]}`,
		"If-Match: "+etag), http.StatusOK)
	if got.Name != "App 2" || !slices.Equal(got.RedirectURIs, []string{"https://app.test/cb2"}) {
		t.Errorf("edited %+v", got)
	}
	problem(t, e.adminCall("PUT", "/clients/"+c.ID, `{"name":"App 3"}`, "If-Match: "+etag), http.StatusPreconditionFailed)

	// Disabled: the OAuth endpoints do not know it.
	decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients/"+c.ID+"/disable", ""), http.StatusOK)
	if _, err := e.P.OAuth.Client(e.Ctx, c.ID); err == nil {
		t.Error("a disabled client is still found by the OAuth server")
	}
	decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients/"+c.ID+"/enable", ""), http.StatusOK)

	// Rotation: a new secret, once; the old one stops working.
	rot := decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients/"+c.ID+"/secret", ""), http.StatusOK)
	client, err = e.P.OAuth.Client(e.Ctx, c.ID)
	if err != nil || rot.Secret == "" || rot.Secret == secret || client.Authenticate(secret) || !client.Authenticate(rot.Secret) {
		t.Errorf("rotation: %v; old works %v", err, client != nil && client.Authenticate(secret))
	}

	// A client of the configuration is read-only.
	webc := decodeBody[adminv1.ClientView](t, e.adminCall("GET", "/clients/web", ""), http.StatusOK)
	if webc.Source != adminv1.SourceCaddyfile {
		t.Errorf("web: source %q", webc.Source)
	}
	problem(t, e.adminCall("PUT", "/clients/web", `{"name":"x"}`, `If-Match: *`), http.StatusConflict)
	problem(t, e.adminCall("POST", "/clients/web/disable", ""), http.StatusConflict)
	list := decodeBody[adminv1.Page[adminv1.ClientView]](t, e.adminCall("GET", "/clients", ""), http.StatusOK)
	if want := len(e.P.OAuth.ConfiguredClients()) + 1; len(list.Items) != want {
		t.Errorf("listed %d clients, want the %d configured and the stored one", len(list.Items), want-1)
	}

	etag = e.adminCall("GET", "/clients/"+c.ID, "").Header().Get("ETag")
	if w := e.adminCall("DELETE", "/clients/"+c.ID, "", "If-Match: "+etag); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	problem(t, e.adminCall("GET", "/clients/"+c.ID, ""), http.StatusNotFound)
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	problem(t, e.adminCall("GET", "/groups/staff", ""), http.StatusNotFound)
	created := decodeBody[adminv1.GroupView](t, e.adminCall("PUT", "/groups/staff", `{"custom_data":{"floor":3}}`), http.StatusCreated)
	pg := decodeBody[adminv1.Page[adminv1.GroupView]](t, e.adminCall("GET", "/groups", ""), http.StatusOK)
	if len(pg.Items) != 1 || pg.Items[0].Name != "staff" || pg.Items[0].ETag != created.ETag {
		t.Fatalf("groups %+v", pg)
	}
	big := `{"custom_data":{"k":"` + strings.Repeat("x", 100*1024) + `"}}`
	if w := e.adminCall("PUT", "/groups/staff", big, "If-Match: "+created.ETag); w.Code != http.StatusRequestEntityTooLarge && w.Code != http.StatusBadRequest {
		t.Errorf("group data over 100 KB: %d", w.Code)
	}
	if w := e.adminCall("DELETE", "/groups/staff", "", "If-Match: "+created.ETag); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	problem(t, e.adminCall("DELETE", "/groups/staff", "", "If-Match: "+created.ETag), http.StatusPreconditionFailed)
}

// Issue 18: "ETags or If-Match for updates so two admins cannot silently overwrite each
// other ... Concurrent edits conflict cleanly (412)." A group's data follows the
// conventions of users and clients: GET answers an ETag, a change of existing data needs
// If-Match (428 without it, 412 when it names an older version).
func TestGroupConflicts(t *testing.T) {
	e := newEnv(t)
	decodeBody[adminv1.GroupView](t, e.adminCall("PUT", "/groups/staff", `{"custom_data":{"floor":3}}`), http.StatusCreated)
	w := e.adminCall("GET", "/groups/staff", "")
	read := decodeBody[adminv1.GroupView](t, w, http.StatusOK)
	etag := w.Header().Get("ETag")
	if etag == "" || etag != read.ETag {
		t.Fatalf("ETag %q, body etag %q", etag, read.ETag)
	}
	p := problem(t, e.adminCall("PUT", "/groups/staff", `{"custom_data":{"floor":4}}`), http.StatusPreconditionRequired)
	if !strings.Contains(p.Detail, "If-Match") {
		t.Errorf("428 detail %q", p.Detail)
	}
	problem(t, e.adminCall("DELETE", "/groups/staff", ""), http.StatusPreconditionRequired)

	// Two administrators read the same version; the first write wins, the second is 412
	// and changes nothing.
	e.Clock.Advance(time.Second)
	first := decodeBody[adminv1.GroupView](t, e.adminCall("PUT", "/groups/staff", `{"custom_data":{"floor":4}}`, "If-Match: "+etag), http.StatusOK)
	if first.ETag == etag {
		t.Fatal("the ETag did not change with the data")
	}
	problem(t, e.adminCall("PUT", "/groups/staff", `{"custom_data":{"floor":5}}`, "If-Match: "+etag), http.StatusPreconditionFailed)
	problem(t, e.adminCall("DELETE", "/groups/staff", "", "If-Match: "+etag), http.StatusPreconditionFailed)
	now := decodeBody[adminv1.GroupView](t, e.adminCall("GET", "/groups/staff", ""), http.StatusOK)
	if string(now.CustomData) != `{"floor":4}` {
		t.Errorf("after the refused write: %s", now.CustomData)
	}
	// If-Match on a group without data matches nothing (RFC 9110 §13.1.1).
	problem(t, e.adminCall("PUT", "/groups/other", `{"custom_data":{}}`, "If-Match: "+etag), http.StatusPreconditionFailed)
	decodeBody[adminv1.GroupView](t, e.adminCall("PUT", "/groups/staff", `{"custom_data":null}`, "If-Match: *"), http.StatusOK)
}

// Issue 18: "Concurrent edits conflict cleanly (412)", also between two instances sharing
// one store (a multi-instance deployment on PostgreSQL): administrators holding the same
// version write at once through two API instances; exactly one wins, every other is 412.
// Creation races alike: exactly one 201, every other refused. The check and the write are one compare-and-swap
// of the store (store.Groups.UpdateGroup), not a lock of one process.
func TestGroupConflictsAcrossInstances(t *testing.T) {
	e := newEnv(t)
	other := adminv1.New(e.deps)
	const n = 16
	run := func(req func(i int) *httptest.ResponseRecorder) map[int]int {
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = req(i).Code
			}()
		}
		wg.Wait()
		count := map[int]int{}
		for _, c := range codes {
			count[c]++
		}
		return count
	}
	on := func(i int) *adminv1.Handler {
		if i%2 == 0 {
			return e.h
		}
		return other
	}
	got := run(func(i int) *httptest.ResponseRecorder {
		return e.callOn(on(i), bearer(e.token), "PUT", "/groups/staff", fmt.Sprintf(`{"custom_data":{"by":%d}}`, i))
	})
	// A loser finds data it did not read: 428 (it sent no If-Match), or 412 when the store
	// saw the record created meanwhile.
	if got[http.StatusCreated] != 1 || got[http.StatusPreconditionRequired]+got[http.StatusPreconditionFailed] != n-1 {
		t.Fatalf("concurrent creations: %v, want one 201 and %d 428 or 412", got, n-1)
	}
	etag := e.adminCall("GET", "/groups/staff", "").Header().Get("ETag")
	got = run(func(i int) *httptest.ResponseRecorder {
		return e.callOn(on(i), bearer(e.token), "PUT", "/groups/staff", fmt.Sprintf(`{"custom_data":{"v":%d}}`, i), "If-Match: "+etag)
	})
	if got[http.StatusOK] != 1 || got[http.StatusPreconditionFailed] != n-1 {
		t.Fatalf("concurrent updates of one version: %v, want one 200 and %d 412", got, n-1)
	}
}

// Issue 18: "An OpenAPI 3.1 document served at /api/admin/v1/openapi.json, and a test that
// every route is in it and every documented route exists."
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	w := e.call(none, "GET", adminv1.OpenAPIPath, "")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(decodeBody[json.RawMessage](t, w, http.StatusOK), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	routes := e.h.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes mounted", len(routes))
	}
	for _, rt := range routes {
		if _, ok := doc.Paths[adminv1.Prefix+rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is mounted but not in the document", rt.Method, rt.Path)
		}
	}
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			n++
			// Without credentials a mounted route answers 401 (200 for the document itself);
			// an unknown route answers 404, a known path with another method 405.
			p := strings.NewReplacer("{", "x", "}", "x").Replace(strings.TrimPrefix(path, adminv1.Prefix))
			w := e.call(none, strings.ToUpper(method), p, "")
			if w.Code == http.StatusNotFound || w.Code == http.StatusMethodNotAllowed {
				t.Errorf("documented %s %s answers %d", strings.ToUpper(method), path, w.Code)
			}
		}
	}
	if n != len(routes) {
		t.Errorf("%d operations documented, %d routes mounted", n, len(routes))
	}
	// The test can fail: an undocumented path answers 404.
	if w := e.call(none, "GET", "/nope", ""); w.Code != http.StatusNotFound {
		t.Errorf("an unknown route answers %d", w.Code)
	}
}

// POST /invitations answers the sign-up URL once; DELETE .../identities/{provider}/{subject}
// unlinks exactly that identity of exactly that user.
func TestInvitationsAndIdentities(t *testing.T) {
	e := newEnv(t)
	inv := decodeBody[adminv1.Invitation](t, e.adminCall("POST", "/invitations", `{"email":"new@example.com","groups":["staff"]}`), http.StatusCreated)
	if inv.Code == "" || !strings.HasPrefix(inv.URL, idptest.Issuer+"/signup?invite=") || inv.Email != "new@example.com" {
		t.Errorf("invitation %+v", inv)
	}
	p := problem(t, e.adminCall("POST", "/invitations", `{"email":"not an address"}`), http.StatusBadRequest)
	if p.Field != "email" {
		t.Errorf("bad email: field %q", p.Field)
	}

	now := e.Clock.Now()
	if err := e.Store.CreateIdentity(e.Ctx, store.Identity{Provider: "google", Subject: "g-1", UserID: e.User.ID, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateIdentity(e.Ctx, store.Identity{Provider: "google", Subject: "g-2", UserID: e.admin.ID, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	d := decodeBody[adminv1.UserDetail](t, e.adminCall("GET", "/users/"+e.User.ID, ""), http.StatusOK)
	if len(d.Identities) != 1 || d.Identities[0].Subject != "g-1" {
		t.Fatalf("identities %+v", d.Identities)
	}
	problem(t, e.adminCall("DELETE", "/users/"+e.User.ID+"/identities/google/g-2", ""), http.StatusNotFound)
	if w := e.adminCall("DELETE", "/users/"+e.User.ID+"/identities/google/g-1", ""); w.Code != http.StatusNoContent {
		t.Fatalf("unlink: %d %s", w.Code, w.Body)
	}
	if ids, _ := e.P.Social.Identities(e.Ctx, e.User.ID); len(ids) != 0 {
		t.Errorf("identities left: %+v", ids)
	}
	if ids, _ := e.P.Social.Identities(e.Ctx, e.admin.ID); len(ids) != 1 {
		t.Errorf("the other user's identity was touched: %+v", ids)
	}
}

// Every mounted route that changes state is marked Write (CSRF and fresh MFA for sessions,
// and the OpenAPI document says so).
func TestWritesAreMarked(t *testing.T) {
	for _, rt := range newEnv(t).h.Routes() {
		if (rt.Method != http.MethodGet) != rt.Write {
			t.Errorf("%s %s: Write = %v", rt.Method, rt.Path, rt.Write)
		}
	}
}

// A stored client whose record lists gatehouse:admin (a registration from before
// registration refused it, a restored dump) gets nothing from it (oauth.Client strips it;
// only the Admin mark gives it), and the API must not show it: the console puts the scopes
// shown back in its edit, which would then be refused ("gatehouse:admin is not listed in
// scopes").
func TestStoredClientViewHidesAdminScope(t *testing.T) {
	e := newEnv(t)
	rec := store.Client{ID: "legacy-reg", Name: "Legacy", SecretHash: strings.Repeat("ab", 32), RedirectURIs: []string{"https://rp.test/cb"},
		Scopes: []string{"openid", oauth.AdminScope}, GrantTypes: []string{"authorization_code"}, RequirePKCE: true, CreatedAt: e.Clock.Now()}
	if err := e.Store.CreateClient(e.Ctx, rec); err != nil {
		t.Fatal(err)
	}
	w := e.adminCall("GET", "/clients/"+rec.ID, "")
	got := decodeBody[adminv1.ClientView](t, w, http.StatusOK)
	if !slices.Equal(got.Scopes, []string{"openid"}) || got.Admin {
		t.Errorf("GET: scopes %v admin %v; want [openid], false", got.Scopes, got.Admin)
	}
	list := decodeBody[adminv1.Page[adminv1.ClientView]](t, e.adminCall("GET", "/clients", ""), http.StatusOK)
	for _, c := range list.Items {
		if c.ID == rec.ID && slices.Contains(c.Scopes, oauth.AdminScope) {
			t.Errorf("list: scopes %v", c.Scopes)
		}
	}
	body, _ := json.Marshal(adminv1.ClientRequest{Name: "Legacy 2", RedirectURIs: got.RedirectURIs, Scopes: got.Scopes, GrantTypes: got.GrantTypes})
	edited := decodeBody[adminv1.ClientView](t, e.adminCall("PUT", "/clients/"+rec.ID, string(body), "If-Match: "+w.Header().Get("ETag")), http.StatusOK)
	if edited.Name != "Legacy 2" || slices.Contains(edited.Scopes, oauth.AdminScope) {
		t.Errorf("edited %+v", edited)
	}
}
