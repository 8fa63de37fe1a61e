package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestAdminCredentials: issue 16 — "Admins can list and revoke any user's credentials":
// the list shows the credential without its secret; a revocation ends it; an unknown
// credential or user is 404.
func TestAdminCredentials(t *testing.T) {
	e := newEnv(t)
	u, err := e.P.Accounts.Get(e.Ctx, idptest.Alice)
	if err != nil {
		t.Fatal(err)
	}
	sec, c, err := e.P.AppCredentials.Create(e.Ctx, u.ID, appcred.CreateRequest{Kind: store.CredentialPAT, Name: "deploy", ExpiresInDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	w := e.call("GET", "/gatehouse/users/"+idptest.Alice+"/credentials", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"name":"deploy"`) || strings.Contains(w.Body.String(), sec) ||
		!strings.Contains(w.Body.String(), appcred.ShortID(c.ID)) {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	w = e.call("POST", "/gatehouse/users/"+u.ID+"/credentials/"+appcred.ShortID(c.ID)+"/revoke", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"revoked"`) {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := e.P.AppCredentials.Verify(e.Ctx, sec, store.CredentialPAT, false, "", "192.0.2.1"); err == nil {
		t.Fatal("revoked credential verifies")
	}
	apiError(t, e.call("POST", "/gatehouse/users/"+u.ID+"/credentials/ffffffffffffffff/revoke", ""), http.StatusNotFound, "not_found")
	apiError(t, e.call("GET", "/gatehouse/users/nobody@example.com/credentials", ""), http.StatusNotFound, "not_found")
}
