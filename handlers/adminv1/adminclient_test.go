package adminv1_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// storedToken runs the client_credentials grant as the token endpoint does: the client
// authenticates with its secret, then asks for scope with the API as resource.
func (e *env) storedToken(t *testing.T, id, sec, scope string) (string, *oauth.Error) {
	t.Helper()
	c, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, id, sec, true, "192.0.2.1")
	if oerr != nil {
		return "", oerr
	}
	resp, oerr := e.P.OAuth.ClientCredentialsGrant(e.Ctx, c, oauth.ClientCredentialsRequest{Scopes: []string{scope},
		Resources: []string{idptest.Issuer + adminv1.Prefix}})
	if oerr != nil {
		return "", oerr
	}
	return resp.AccessToken, nil
}

// Issue 18: "Callers authenticate with an access token from the client_credentials grant
// carrying the scope gatehouse:admin (machine automation)" — and a client an administrator
// creates through the API may be such a caller, when the administrator says so ("admin").
func TestStoredAdminClient(t *testing.T) {
	e := newEnv(t)
	const body = `{"name":"Automation","grant_types":["client_credentials"],"scopes":["read"],"admin":true}`
	created := decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients", body), http.StatusCreated)
	if !created.Admin || created.Secret == "" {
		t.Fatalf("created %+v", created)
	}
	tok, oerr := e.storedToken(t, created.ID, created.Secret, adminv1.Scope)
	if oerr != nil {
		t.Fatalf("a stored admin client gets no gatehouse:admin token: %v", oerr)
	}
	decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(bearer(tok), "GET", "/users", ""), http.StatusOK)

	t.Run("audited without its secret", func(t *testing.T) {
		var found bool
		for _, ev := range e.audit.all() {
			b, _ := json.Marshal(ev)
			if strings.Contains(string(b), created.Secret) {
				t.Errorf("an audit event holds the client secret: %s", b)
			}
			if ev.Type == audit.AdminWrite && ev.Reason == "client created" && ev.Details["client"] == created.ID {
				found = ev.Details["admin"] == "true"
			}
		}
		if !found {
			t.Error("the creation of an admin client is not audited with admin=true")
		}
	})

	// RFC 6749 §5.2: invalid_scope — "The requested scope is invalid, unknown, malformed, or
	// exceeds the scope granted by the resource owner."
	t.Run("a stored client without admin gets invalid_scope", func(t *testing.T) {
		plain := decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients", `{"name":"Plain","grant_types":["client_credentials"],"scopes":["read"]}`), http.StatusCreated)
		if plain.Admin {
			t.Fatal("admin without asking")
		}
		_, oerr := e.storedToken(t, plain.ID, plain.Secret, adminv1.Scope)
		if oerr == nil || oerr.Kind != oauth.InvalidScope {
			t.Fatalf("got %v, want invalid_scope", oerr)
		}
	})
	t.Run("listing the scope is not the way", func(t *testing.T) {
		p := problem(t, e.adminCall("POST", "/clients", `{"name":"Sneaky","grant_types":["client_credentials"],"scopes":["gatehouse:admin"]}`), http.StatusBadRequest)
		if p.Field != "scopes" {
			t.Errorf("field %q, want scopes", p.Field)
		}
	})
	t.Run("a public client can never get it", func(t *testing.T) {
		p := problem(t, e.adminCall("POST", "/clients", `{"name":"SPA","public":true,"redirect_uris":["https://spa.test/cb"],"grant_types":["authorization_code","client_credentials"],"admin":true}`), http.StatusBadRequest)
		if p.Field != "admin" {
			t.Errorf("field %q, want admin", p.Field)
		}
		// Nor later: a public client stays public.
		spa := decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients", `{"name":"SPA","public":true,"redirect_uris":["https://spa.test/cb"]}`), http.StatusCreated)
		etag := e.adminCall("GET", "/clients/"+spa.ID, "").Header().Get("ETag")
		p = problem(t, e.adminCall("PUT", "/clients/"+spa.ID, `{"name":"SPA","redirect_uris":["https://spa.test/cb"],"grant_types":["client_credentials"],"admin":true}`,
			"If-Match: "+etag), http.StatusBadRequest)
		if p.Field != "admin" {
			t.Errorf("update: field %q, want admin", p.Field)
		}
	})
	t.Run("it needs client_credentials", func(t *testing.T) {
		p := problem(t, e.adminCall("POST", "/clients", `{"name":"Web","redirect_uris":["https://web.test/cb"],"admin":true}`), http.StatusBadRequest)
		if p.Field != "admin" {
			t.Errorf("field %q, want admin", p.Field)
		}
	})
	t.Run("only an administrator with fresh MFA sets it", func(t *testing.T) {
		stale := e.session(t, e.admin, "pwd")
		p := problem(t, e.call(e.withSession(stale, true), "POST", "/clients", body), http.StatusForbidden)
		if p.Missing != adminv1.MissingFreshMFA {
			t.Errorf("missing %q, want fresh_mfa", p.Missing)
		}
		p = problem(t, e.call(e.withSession(e.session(t, e.User, "pwd", "mfa"), true), "POST", "/clients", body), http.StatusForbidden)
		if p.Missing != adminv1.MissingGroup {
			t.Errorf("missing %q, want group", p.Missing)
		}
	})

	t.Run("rotating the secret stops the old secret and its tokens", func(t *testing.T) {
		e.Clock.Advance(time.Second)
		rot := decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients/"+created.ID+"/secret", ""), http.StatusOK)
		if _, oerr := e.storedToken(t, created.ID, created.Secret, adminv1.Scope); oerr == nil || oerr.Kind != oauth.InvalidClient {
			t.Errorf("the old secret still gets a token: %v", oerr)
		}
		problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusUnauthorized)
		e.Clock.Advance(time.Second)
		fresh, oerr := e.storedToken(t, created.ID, rot.Secret, adminv1.Scope)
		if oerr != nil {
			t.Fatalf("the new secret: %v", oerr)
		}
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(bearer(fresh), "GET", "/users", ""), http.StatusOK)
		created.Secret, tok = rot.Secret, fresh
	})
	t.Run("turning admin off stops its tokens", func(t *testing.T) {
		w := e.adminCall("GET", "/clients/"+created.ID, "")
		off := `{"name":"Automation","grant_types":["client_credentials"],"scopes":["read"]}`
		got := decodeBody[adminv1.ClientView](t, e.adminCall("PUT", "/clients/"+created.ID, off, "If-Match: "+w.Header().Get("ETag")), http.StatusOK)
		if got.Admin {
			t.Fatal("still admin")
		}
		p := problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusForbidden)
		if p.Missing != adminv1.MissingScope {
			t.Errorf("missing %q, want scope", p.Missing)
		}
		if _, oerr := e.storedToken(t, created.ID, created.Secret, adminv1.Scope); oerr == nil || oerr.Kind != oauth.InvalidScope {
			t.Errorf("got %v, want invalid_scope", oerr)
		}
		w = e.adminCall("GET", "/clients/"+created.ID, "")
		decodeBody[adminv1.ClientView](t, e.adminCall("PUT", "/clients/"+created.ID, body, "If-Match: "+w.Header().Get("ETag")), http.StatusOK)
	})
	t.Run("disabling the client stops its secret and its tokens", func(t *testing.T) {
		decodeBody[adminv1.Page[adminv1.UserSummary]](t, e.call(bearer(tok), "GET", "/users", ""), http.StatusOK)
		decodeBody[adminv1.ClientView](t, e.adminCall("POST", "/clients/"+created.ID+"/disable", ""), http.StatusOK)
		problem(t, e.call(bearer(tok), "GET", "/users", ""), http.StatusUnauthorized)
		if _, oerr := e.storedToken(t, created.ID, created.Secret, adminv1.Scope); oerr == nil || oerr.Kind != oauth.InvalidClient {
			t.Errorf("a disabled client gets a token: %v", oerr)
		}
	})
}
