package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConnectedAppsDisconnect — issue 16 (connected apps) and issue 14 ("disconnect app"
// kills offline grants), against real Caddy and Badger: the account page lists the client
// the user gave tokens to; its Disconnect form (POST + CSRF token) revokes the app's refresh
// tokens — the one granted with offline_access, which a logout leaves alive (OIDC Core §11),
// and the one without — and the access tokens issued with them, and the page no longer
// lists the app.
func TestConnectedAppsDisconnect(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	const ada = "ada@example.test"
	e.CreateUser(ada)
	b := NewBrowser(t)
	e.PortalLogin(b, ada, Password)
	offline := e.Tokens(b, "app", e.RP+"/app-cb", "openid offline_access")
	online := e.Tokens(b, "app", e.RP+"/app-cb", "openid email")

	page := b.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	if body := string(page.Body); !strings.Contains(body, `data-app="app"`) || !strings.Contains(body, "Test app") ||
		!strings.Contains(body, "keeps access while you are away") {
		t.Fatalf("the account page does not list the connected app:\n%s", truncate(body, 3000))
	}
	// Without the CSRF token: refused, nothing revoked (PX-24).
	if r := b.Do(http.MethodPost, e.Issuer+"/account/apps/disconnect", url.Values{"client_id": {"app"}}); r.Status != http.StatusForbidden {
		t.Fatalf("disconnect without a CSRF token: %s", r)
	}
	if r := e.Userinfo(offline["access_token"].(string)); r.Status != http.StatusOK {
		t.Fatalf("userinfo before disconnect: %s", r)
	}
	r := b.Go(http.MethodPost, e.Issuer+"/account/apps/disconnect",
		url.Values{"csrf_token": {FormField(t, page, csrfRe)}, "client_id": {"app"}}, nil)
	if r.Status != http.StatusOK || r.URL.Path != "/" || strings.Contains(string(r.Body), `data-app="app"`) {
		t.Fatalf("after disconnect: %s", r)
	}
	for name, tok := range map[string]map[string]any{"offline_access": offline, "online": online} {
		rr := e.Refresh("app", tok["refresh_token"].(string))
		if rr.Status != http.StatusBadRequest || rr.JSON(t)["error"] != "invalid_grant" {
			t.Errorf("%s refresh token after disconnect: %s, want 400 invalid_grant", name, rr)
		}
		if ur := e.Userinfo(tok["access_token"].(string)); ur.Status != http.StatusUnauthorized {
			t.Errorf("%s access token at userinfo after disconnect: %s, want 401", name, ur)
		}
	}
}

// TestConnectedAppsDisconnectBackchannel — issue 16 ("disconnect" per app: back-channel
// logout fires): a client with a backchannel_logout_uri that the user disconnects on the
// account page receives a logout token (Back-Channel Logout 1.0 §2.4: typ logout+jwt,
// signed with a key of /jwks, aud the client, the sid of the session its tokens came from);
// a client that is not disconnected receives nothing.
func TestConnectedAppsDisconnectBackchannel(t *testing.T) {
	rp := cfListen(t)
	e := Start(t, Config{Gatehouse: AppClient + `
		client bc {
			name "Back-channel app"
			redirect_uri {{.RP}}/cb-bc
			backchannel_logout_uri ` + rp.URL() + `/backchannel
		}`, Sites: AppSite})
	const ada = "ada@example.test"
	e.CreateUser(ada)
	b := NewBrowser(t)
	e.PortalLogin(b, ada, Password)
	idt := e.Tokens(b, "bc", e.RP+"/cb-bc", "openid")["id_token"].(string)
	e.Tokens(b, "app", e.RP+"/app-cb", "openid")
	page := b.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	r := b.Go(http.MethodPost, e.Issuer+"/account/apps/disconnect",
		url.Values{"csrf_token": {FormField(t, page, csrfRe)}, "client_id": {"bc"}}, nil)
	if body := string(r.Body); r.Status != http.StatusOK || strings.Contains(body, `data-app="bc"`) || !strings.Contains(body, `data-app="app"`) {
		t.Fatalf("after disconnecting bc: %s", r)
	}
	if !rp.wait(1, 10*time.Second) {
		t.Fatal("no back-channel logout for the disconnected app")
	}
	req := rp.Requests()[0]
	hdr, c, err := cfVerify(t, e, req.Form.Get("logout_token"))
	if err != nil {
		t.Fatalf("logout token does not verify with /jwks: %v", err)
	}
	_, idc := cfClaims(t, idt)
	if req.Path != "/backchannel" || hdr["typ"] != "logout+jwt" || c["aud"] != "bc" && !slices.Contains(toStrings(c["aud"]), "bc") ||
		c["sid"] == nil || c["sid"] != idc["sid"] {
		t.Fatalf("logout token %v %v to %s", hdr, c, req.Path)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(rp.Requests()); n != 1 {
		t.Errorf("the back-channel endpoint got %d requests, want 1", n)
	}
}
