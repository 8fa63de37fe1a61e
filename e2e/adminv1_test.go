package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// Issue 18: "Callers authenticate with an access token from the client_credentials grant
// carrying the scope gatehouse:admin (machine automation ...)"; "ETags or If-Match for
// updates so two admins cannot silently overwrite each other". Against the running portal:
// a Caddyfile client gets a token for the API (resource = the API's URL), then creates a
// user, edits it with If-Match (a stale If-Match is refused with 412) and deletes it.
func TestAdminAPIClientCredentials(t *testing.T) {
	e := Start(t, Config{Gatehouse: `
		client automation {
			secret automation-secret-0123456789
			grant_types client_credentials
			scopes gatehouse:admin
			resource {{.Issuer}}/api/admin/v1
		}
		client nosuch {
			secret nosuch-secret-0123456789
			grant_types client_credentials
			scopes read
			resource {{.Issuer}}/api/admin/v1
		}`})
	api := e.Issuer + "/api/admin/v1"
	token := func(client, secret, scope string) string {
		r := e.Token(url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": {api}}, client, secret)
		if r.Status != http.StatusOK {
			t.Fatalf("client_credentials for %s: %s", client, r)
		}
		return r.JSON(t)["access_token"].(string)
	}
	tok := token("automation", "automation-secret-0123456789", "gatehouse:admin")
	call := func(bearer, method, path string, body any, ifMatch string) *Resp {
		t.Helper()
		req := NewRequest(t, method, api+path, body)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		return Do(t, API, req)
	}

	// The document is public; the API is not.
	if r := call("", http.MethodGet, "/openapi.json", nil, ""); r.Status != http.StatusOK || r.JSON(t)["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %s", r)
	}
	if r := call("", http.MethodGet, "/users", nil, ""); r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %s", r)
	}
	if r := call(token("nosuch", "nosuch-secret-0123456789", "read"), http.MethodGet, "/users", nil, ""); r.Status != http.StatusForbidden {
		t.Fatalf("a token without gatehouse:admin: %s", r)
	}

	r := call(tok, http.MethodPost, "/users", map[string]any{"email": "e2e-admin@example.com", "fname": "Eve", "groups": []string{"staff"}}, "")
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	id, _ := r.JSON(t)["id"].(string)
	r = call(tok, http.MethodGet, "/users/"+id, nil, "")
	etag := r.Header.Get("ETag")
	if r.Status != http.StatusOK || etag == "" {
		t.Fatalf("get: %s (ETag %q)", r, etag)
	}
	r = call(tok, http.MethodPatch, "/users/"+id, map[string]any{"lname": "Example"}, etag)
	if r.Status != http.StatusOK || r.JSON(t)["lname"] != "Example" {
		t.Fatalf("patch: %s", r)
	}
	newTag := r.Header.Get("ETag")
	if r := call(tok, http.MethodPatch, "/users/"+id, map[string]any{"lname": "Lost"}, etag); r.Status != http.StatusPreconditionFailed {
		t.Fatalf("patch with a stale If-Match: %s", r)
	}
	if r := call(tok, http.MethodPatch, "/users/"+id, map[string]any{"nickname": "x"}, newTag); r.Status != http.StatusBadRequest ||
		r.JSON(t)["field"] != "nickname" {
		t.Fatalf("unknown field: %s", r)
	}
	if r := call(tok, http.MethodDelete, "/users/"+id, nil, newTag); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %s", r)
	}
	if r := call(tok, http.MethodGet, "/users/"+id, nil, ""); r.Status != http.StatusNotFound {
		t.Fatalf("after delete: %s", r)
	}
	var p struct {
		Status int `json:"status"`
	}
	_ = json.Unmarshal(call(tok, http.MethodGet, "/users/"+id, nil, "").Body, &p)
	if p.Status != http.StatusNotFound {
		t.Errorf("the 404 is not problem+json: %+v", p)
	}
}
