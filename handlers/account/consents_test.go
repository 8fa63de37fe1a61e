package account

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Issue 16 (connected apps): the account page lists the apps with live grants or a consent
// (name, scopes, since when, "keeps access while you are away" for an offline grant);
// Disconnect (POST + CSRF) ends the app's refresh tokens, offline ones included, and the
// list no longer shows it; a second Disconnect says the app is not connected.
func TestConnectedAppsDisconnect(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	offline, _ := e.Tokens("openid", "offline_access")
	if err := e.Store.PutConsent(e.Ctx, store.Consent{UserID: e.User.ID, ClientID: "partner", Scopes: []string{"openid", "email"}, GrantedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	page := b.Get("/").Body
	for _, want := range []string{"Connected apps", `data-app="web"`, "keeps access while you are away", `data-app="partner"`, "Partner Reports", "email, openid"} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	r := b.PostForm("/account/apps/disconnect", url.Values{"client_id": {"web"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("disconnect: %d %q %s", r.StatusCode, r.Location(), r.Body)
	}
	if _, oerr := e.P.RefreshGrant(e.Ctx, e.Web, offline.RefreshToken, ""); oerr == nil || oerr.Kind != oauth.InvalidGrant {
		t.Fatalf("offline refresh token after disconnect: %v, want invalid_grant", oerr)
	}
	if page := b.Get("/").Body; strings.Contains(page, `data-app="web"`) || !strings.Contains(page, `data-app="partner"`) {
		t.Fatalf("after disconnect the page still lists web or lost partner")
	}
	r = b.PostForm("/account/apps/disconnect", url.Values{"client_id": {"web"}})
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "not connected") {
		t.Fatalf("second disconnect: %d", r.StatusCode)
	}
	// The JSON API: list, then DELETE.
	var list struct {
		Apps []appJSON `json:"apps"`
	}
	b.Get("/api/v1/account/apps").JSON(t, &list)
	if len(list.Apps) != 1 || list.Apps[0].ClientID != "partner" || !list.Apps[0].Consented {
		t.Fatalf("API list %+v", list)
	}
	if r := b.SendJSON(http.MethodDelete, "/api/v1/account/apps/partner", ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("API disconnect: %d %s", r.StatusCode, r.Body)
	}
	if r := b.SendJSON(http.MethodDelete, "/api/v1/account/apps/partner", ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("API disconnect again: %d %s", r.StatusCode, r.Body)
	}
	if page := b.Get("/").Body; !strings.Contains(page, "No app has access") {
		t.Fatal("the page still lists apps")
	}
}

// PX-24 (CSRF on security settings): a Disconnect posted by another site, or without this
// browser's CSRF token, is refused and the grant keeps working; without a session it leads
// to the login page.
func TestPX24_DisconnectCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	tok, _ := e.Tokens("openid", "offline_access")
	b.Header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
	if r := b.PostForm("/account/apps/disconnect", url.Values{"client_id": {"web"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site disconnect: %d", r.StatusCode)
	}
	b.Header = nil
	if r := b.PostForm("/account/apps/disconnect", url.Values{"client_id": {"web"}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("disconnect without a CSRF token: %d", r.StatusCode)
	}
	if r := e.Browser().PostForm("/account/apps/disconnect", url.Values{"client_id": {"web"}}); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Fatalf("disconnect without a session: %d %q", r.StatusCode, r.Location())
	}
	if _, oerr := e.P.RefreshGrant(e.Ctx, e.Web, tok.RefreshToken, ""); oerr != nil {
		t.Fatalf("a refused disconnect revoked the grant: %v", oerr)
	}
}
