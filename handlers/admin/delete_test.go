package admin

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// DELETE /gatehouse/users/{id or email} removes the user with its sessions and refresh
// tokens (account.Accounts.Delete, the same removal as a user's own deletion): 204, then
// 404 for the user and for a second delete.
func TestAdminDeleteUser(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.Tokens("openid", "offline_access")
	s := e.Session(sessions.Meta{})
	if w := e.call(http.MethodDelete, "/gatehouse/users/"+e.User.Email, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if _, err := e.Store.GetUser(e.Ctx, e.User.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user after delete: %v", err)
	}
	if _, err := e.Store.GetSession(e.Ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after delete: %v", err)
	}
	if _, oerr := e.P.RefreshGrant(e.Ctx, e.Web, tok.RefreshToken, ""); oerr == nil {
		t.Error("the refresh token still works")
	}
	apiError(t, e.call(http.MethodGet, "/gatehouse/users/"+e.User.ID, ""), http.StatusNotFound, "not_found")
	apiError(t, e.call(http.MethodDelete, "/gatehouse/users/"+e.User.ID, ""), http.StatusNotFound, "not_found")
}
