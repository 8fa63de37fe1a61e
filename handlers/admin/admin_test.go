package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// The admin API has no credential of its own: it is served on Caddy's admin endpoint,
// whose listener (localhost or a unix socket by default) and its access controls are the
// authentication (module/adminapi.go). These tests drive the handler as Caddy mounts it,
// over an idptest provider (store/memory).

type env struct {
	*idptest.Env
	h *Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := idptest.New(t)
	h := New(func() (*Backend, error) {
		return &Backend{Accounts: e.P.Accounts, Invites: e.P.Signup, Identities: e.P.Social, Keys: e.P.Keys, Clients: e.P.OAuth, AppCredentials: e.P.AppCredentials,
			Issuer: idptest.Issuer, SignupMode: "closed"}, nil
	})
	return &env{Env: e, h: h}
}

// call sends a request with an optional JSON body ("" for none) and returns the answer.
func (e *env) call(method, path, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// apiError checks an error answer: the status, the code and a non-empty message.
func apiError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) map[string]string {
	t.Helper()
	var out map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("status %d, body not JSON: %q", w.Code, w.Body)
	}
	if w.Code != status || out["error"] != code || out["message"] == "" {
		t.Fatalf("got %d %v, want %d %q with a message", w.Code, out, status, code)
	}
	return out
}

func decode[T any](t testing.TB, w *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var out T
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("body not JSON: %q", w.Body)
	}
	return out
}

// The admin endpoint outlives configuration reloads: without a running identity core it
// answers 503 not_configured, saying why; an unknown route is a JSON 404, not a bare one.
func TestAdminNotConfiguredAndUnknownRoute(t *testing.T) {
	h := New(func() (*Backend, error) { return nil, errors.New("the gatehouse app is not running") })
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/gatehouse/users", nil))
	if out := apiError(t, w, http.StatusServiceUnavailable, "not_configured"); !strings.Contains(out["message"], "not running") {
		t.Fatalf("message %q", out["message"])
	}
	e := newEnv(t)
	apiError(t, e.call(http.MethodGet, "/gatehouse/nothing", ""), http.StatusNotFound, "not_found")
	// A known path with another method is no route either: the same JSON 404.
	apiError(t, e.call(http.MethodDelete, "/gatehouse/users", ""), http.StatusNotFound, "not_found")
}

// Bad JSON → 400 invalid_request with a message naming the fault; JSON of another media
// type, unknown fields and trailing data are refused the same way; invalid input is 400
// invalid_input naming the field.
func TestAdminBadRequests(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"truncated":     `{"email":`,
		"unknown field": `{"email":"bob@example.com","admin":true}`,
		"trailing data": `{"email":"bob@example.com"} {}`,
		"wrong type":    `{"email":42}`,
	} {
		t.Run(name, func(t *testing.T) {
			out := apiError(t, e.call(http.MethodPost, "/gatehouse/users", body), http.StatusBadRequest, "invalid_request")
			if !strings.Contains(out["message"], "JSON") {
				t.Fatalf("message %q does not say what is wrong", out["message"])
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/gatehouse/users", strings.NewReader(`{"email":"bob@example.com"}`))
	r.Header.Set("Content-Type", "text/plain")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	apiError(t, w, http.StatusBadRequest, "invalid_request")

	out := apiError(t, e.call(http.MethodPost, "/gatehouse/users", `{"email":"not an address"}`), http.StatusBadRequest, "invalid_input")
	if out["field"] != "email" {
		t.Fatalf("invalid_input without the field: %v", out)
	}
	apiError(t, e.call(http.MethodPost, "/gatehouse/keys/rotate", `{"alg":"HS256"}`), http.StatusBadRequest, "invalid_input")
}

// Users: create (201), a second account with the same address is 409 email_taken, show by
// id and by email, list, disable and enable, groups; an unknown user is 404.
func TestAdminUsers(t *testing.T) {
	e := newEnv(t)
	apiError(t, e.call(http.MethodGet, "/gatehouse/users/nobody@example.com", ""), http.StatusNotFound, "not_found")
	apiError(t, e.call(http.MethodPost, "/gatehouse/users/nobody/disable", ""), http.StatusNotFound, "not_found")
	apiError(t, e.call(http.MethodPost, "/gatehouse/users", `{"email":"`+idptest.Alice+`"}`), http.StatusConflict, "email_taken")

	bob := decode[user](t, e.call(http.MethodPost, "/gatehouse/users", `{"email":"bob@example.com","fname":"Bob","groups":["ops"]}`), http.StatusCreated)
	if bob.ID == "" || bob.Email != "bob@example.com" || !bob.EmailVerified || bob.FirstName != "Bob" || len(bob.Groups) != 1 {
		t.Fatalf("created %+v", bob)
	}
	if got := decode[user](t, e.call(http.MethodGet, "/gatehouse/users/bob@example.com", ""), http.StatusOK); got.ID != bob.ID {
		t.Fatalf("by email: %+v", got)
	}
	list := decode[struct{ Users []user }](t, e.call(http.MethodGet, "/gatehouse/users?limit=10", ""), http.StatusOK)
	ids := map[string]bool{}
	for _, u := range list.Users {
		ids[u.ID] = true
	}
	if !ids[bob.ID] || !ids[e.User.ID] || len(list.Users) != 2 {
		t.Fatalf("list %+v", list.Users)
	}
	if got := decode[user](t, e.call(http.MethodPost, "/gatehouse/users/"+bob.ID+"/disable", ""), http.StatusOK); !got.Disabled {
		t.Fatalf("disable: %+v", got)
	}
	if got := decode[user](t, e.call(http.MethodPost, "/gatehouse/users/"+bob.ID+"/enable", ""), http.StatusOK); got.Disabled {
		t.Fatalf("enable: %+v", got)
	}
	if got := decode[user](t, e.call(http.MethodPut, "/gatehouse/users/"+bob.ID+"/groups", `{"groups":["a","b"]}`), http.StatusOK); len(got.Groups) != 2 {
		t.Fatalf("groups: %+v", got)
	}
	if w := e.call(http.MethodPut, "/gatehouse/users/"+bob.ID+"/password", `{"password":"another long passphrase"}`); w.Code != http.StatusNoContent {
		t.Fatalf("password: %d %s", w.Code, w.Body)
	}
}

// Groups: custom data set and listed, deleted (204).
func TestAdminGroups(t *testing.T) {
	e := newEnv(t)
	apiError(t, e.call(http.MethodPut, "/gatehouse/groups/ops", `{"custom_data":`), http.StatusBadRequest, "invalid_request")
	if w := e.call(http.MethodPut, "/gatehouse/groups/ops", `{"custom_data":{"team":"infra"}}`); w.Code != http.StatusOK {
		t.Fatalf("put group: %d %s", w.Code, w.Body)
	}
	list := decode[struct {
		Groups []struct{ Name string }
	}](t, e.call(http.MethodGet, "/gatehouse/groups", ""), http.StatusOK)
	if len(list.Groups) != 1 || list.Groups[0].Name != "ops" {
		t.Fatalf("groups %+v", list.Groups)
	}
	if w := e.call(http.MethodDelete, "/gatehouse/groups/ops", ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete group: %d %s", w.Code, w.Body)
	}
	list = decode[struct {
		Groups []struct{ Name string }
	}](t, e.call(http.MethodGet, "/gatehouse/groups", ""), http.StatusOK)
	if len(list.Groups) != 0 {
		t.Fatalf("groups after delete %+v", list.Groups)
	}
}

// Keys: listed, rotated (a new key per algorithm), and a key removed; removing an unknown
// key is a 409 conflict with the reason.
func TestAdminKeys(t *testing.T) {
	e := newEnv(t)
	type keyList struct {
		Keys    []struct{ ID, Alg string }
		Created []struct{ ID, Alg string }
	}
	before := decode[keyList](t, e.call(http.MethodGet, "/gatehouse/keys", ""), http.StatusOK)
	if len(before.Keys) == 0 {
		t.Fatal("no keys listed")
	}
	rot := decode[keyList](t, e.call(http.MethodPost, "/gatehouse/keys/rotate", `{"alg":"ES256"}`), http.StatusOK)
	if len(rot.Created) != 1 || rot.Created[0].Alg != "ES256" || len(rot.Keys) != len(before.Keys)+1 {
		t.Fatalf("rotate: %+v (before %d keys)", rot, len(before.Keys))
	}
	apiError(t, e.call(http.MethodDelete, "/gatehouse/keys/no-such-kid", ""), http.StatusConflict, "conflict")
}

// Invitations: 201 with a code and a sign-up link under the issuer.
func TestAdminInvite(t *testing.T) {
	e := newEnv(t)
	apiError(t, e.call(http.MethodPost, "/gatehouse/invites", `{"email":`), http.StatusBadRequest, "invalid_request")
	out := decode[map[string]any](t, e.call(http.MethodPost, "/gatehouse/invites", `{"email":"carol@example.com"}`), http.StatusCreated)
	code, _ := out["code"].(string)
	if code == "" || out["url"] != idptest.Issuer+"/signup?invite="+code || out["signup_mode"] != "closed" {
		t.Fatalf("invite %v", out)
	}
}
