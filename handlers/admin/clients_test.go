package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Registration approval: a registered client waits until an administrator approves it
// through the admin API; the list shows the pending ones, never a secret's or a
// registration access token's hash; an unknown client is 404.
func TestAdminApprovesRegisteredClients(t *testing.T) {
	e := newEnv(t)
	e.P.OAuth.Registration = oauth.Registration{Mode: oauth.RegistrationApproval}
	rc, oe := e.P.OAuth.Register(e.Ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}, ClientName: "RP"}, "192.0.2.1")
	if oe != nil {
		t.Fatal(oe)
	}
	id := rc.Client.ID
	w := e.call(http.MethodGet, "/gatehouse/clients?pending=true", "")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), rc.Client.SecretHash) || strings.Contains(w.Body.String(), rc.Client.RegistrationTokenHash) {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	var list struct {
		Clients []client `json:"clients"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Clients) != 1 || list.Clients[0].ID != id || !list.Clients[0].Pending || list.Clients[0].Public {
		t.Fatalf("pending list %+v %v", list, err)
	}
	if _, err := e.P.OAuth.Client(e.Ctx, id); err == nil {
		t.Fatal("a pending client is usable")
	}
	if w := e.call(http.MethodPost, "/gatehouse/clients/"+id+"/approve", ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"pending":false`) {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	if _, err := e.P.OAuth.Client(e.Ctx, id); err != nil {
		t.Fatalf("approved client: %v", err)
	}
	if w := e.call(http.MethodGet, "/gatehouse/clients?pending=true", ""); !strings.Contains(w.Body.String(), `"clients":[]`) {
		t.Errorf("pending after approval: %s", w.Body)
	}
	apiError(t, e.call(http.MethodPost, "/gatehouse/clients/nobody/approve", ""), http.StatusNotFound, "not_found")
	apiError(t, e.call(http.MethodDelete, "/gatehouse/clients/web", ""), http.StatusNotFound, "not_found")
	if w := e.call(http.MethodDelete, "/gatehouse/clients/"+id, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if _, err := e.P.OAuth.Client(e.Ctx, id); err == nil {
		t.Error("deleted client still usable")
	}
}
