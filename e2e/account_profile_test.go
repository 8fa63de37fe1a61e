package e2e

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// TestAccountProfileEditAndDelete — issue 16 ("The user can edit their name and other
// profile fields the operator allows ... Account deletion by the user when the operator
// allows it (fresh login required; the same complete removal as the admin's delete)"),
// against real Caddy and Badger with the Caddyfile's `account` block:
//   - the account page's Profile form (POST + CSRF token) changes the name, and the next
//     userinfo answer and ID token show it (OIDC Core §5.3.2: userinfo returns the claims
//     about the authenticated end-user); the email address is refused there;
//   - "Delete my account" (POST + CSRF token, the word DELETE typed) lands on a page saying
//     the account is gone; the old session cookie no longer opens the account page, the
//     offline refresh token is refused (invalid_grant), the client that took part in the
//     session gets a back-channel logout token, and the user cannot log in again.
//
// It runs on Badger and on PostgreSQL (where the store is then checked directly).
func TestAccountProfileEditAndDelete(t *testing.T) {
	t.Run("badger", func(t *testing.T) { accountProfileEditAndDelete(t, "") })
	t.Run("postgres", func(t *testing.T) {
		storage, _ := pgStorage(t)
		accountProfileEditAndDelete(t, storage)
	})
}

func accountProfileEditAndDelete(t *testing.T, storage string) {
	rp := cfListen(t)
	e := Start(t, Config{Storage: storage, Gatehouse: AppClient + `
		client bc {
			name "Back-channel app"
			redirect_uri {{.RP}}/cb-bc
			backchannel_logout_uri ` + rp.URL() + `/backchannel
		}
		account {
			editable_fields fname lname
			allow_delete
		}`, Sites: AppSite})
	const ada = "ada@example.test"
	uid := e.CreateUser(ada)
	b := NewBrowser(t)
	e.PortalLogin(b, ada, Password)
	tok := e.Tokens(b, "app", e.RP+"/app-cb", "openid profile offline_access")
	e.Tokens(b, "bc", e.RP+"/cb-bc", "openid")

	page := b.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	if body := string(page.Body); !strings.Contains(body, `name="fname"`) || !strings.Contains(body, "Delete my account") {
		t.Fatalf("the account page has no profile form or deletion section:\n%s", truncate(body, 3000))
	}
	csrf := FormField(t, page, csrfRe)
	// Without the CSRF token: refused (PX-24).
	if r := b.Do(http.MethodPost, e.Issuer+"/account/profile", url.Values{"fname": {"Mallory"}}); r.Status != http.StatusForbidden {
		t.Fatalf("profile without a CSRF token: %s", r)
	}
	if r := b.Go(http.MethodPost, e.Issuer+"/account/profile", url.Values{"csrf_token": {csrf}, "email": {"x@example.test"}}, nil); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "Email changes only through verification") {
		t.Fatalf("profile with email: %s", r)
	}
	r := b.Go(http.MethodPost, e.Issuer+"/account/profile", url.Values{"csrf_token": {csrf}, "fname": {"Grace"}, "lname": {"Hopper"}}, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Grace Hopper") {
		t.Fatalf("after saving the profile: %s", r)
	}
	ui := e.Userinfo(tok["access_token"].(string))
	if c := ui.JSON(t); ui.Status != http.StatusOK || c["given_name"] != "Grace" || c["family_name"] != "Hopper" {
		t.Fatalf("userinfo after the edit: %s", ui)
	}
	rr := e.Refresh("app", tok["refresh_token"].(string))
	if rr.Status != http.StatusOK {
		t.Fatalf("refresh: %s", rr)
	}
	fresh := rr.JSON(t)
	if c := JWTClaims(t, fresh["id_token"].(string)); c["given_name"] != "Grace" {
		t.Fatalf("ID token after the edit: given_name %v", c["given_name"])
	}

	oldCookie := b.Cookie(e.Issuer, "gatehouse_session")
	r = b.Go(http.MethodPost, e.Issuer+"/account/delete", url.Values{"csrf_token": {csrf}, "confirm": {"DELETE"}}, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Your account has been deleted") {
		t.Fatalf("delete: %s", r)
	}
	// The old session cookie, sent again, leads to the login page.
	u, _ := url.Parse(e.Issuer)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_session", Value: oldCookie, Path: "/"}})
	if r := b.Do(http.MethodGet, e.Issuer+"/", nil); r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "/login") {
		t.Errorf("old session cookie after deletion: %s", r)
	}
	if rr := e.Refresh("app", fresh["refresh_token"].(string)); rr.Status != http.StatusBadRequest || rr.JSON(t)["error"] != "invalid_grant" {
		t.Errorf("offline refresh token after deletion: %s, want 400 invalid_grant", rr)
	}
	if ui := e.Userinfo(fresh["access_token"].(string)); ui.Status != http.StatusUnauthorized {
		t.Errorf("access token after deletion: %s, want 401", ui)
	}
	if r := e.APILogin(ada, Password); r.Status != http.StatusUnauthorized {
		t.Errorf("login after deletion: %s, want 401", r)
	}
	if r := e.Admin(http.MethodGet, "/gatehouse/users/"+ada, nil); r.Status != http.StatusNotFound {
		t.Errorf("admin API after deletion: %s, want 404", r)
	}
	if !rp.wait(1, 10*time.Second) {
		t.Error("no back-channel logout for the client of the deleted user's session")
	}
	st := Provider(t).Store
	if _, err := st.GetUser(Ctx(t), uid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the store still has the user: %v", err)
	}
	if l, err := st.ListUserSessions(Ctx(t), uid); err != nil || len(l) != 0 {
		t.Errorf("the store still has %d sessions (%v)", len(l), err)
	}
	if _, err := st.GetPassword(Ctx(t), uid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the store still has the password: %v", err)
	}
}

// TestAdminDeleteUserCLI — `gatehouse user delete --yes EMAIL` (DELETE /gatehouse/users/{id},
// the removal a user's own deletion uses): without --yes nothing happens; with it the user's
// refresh token is refused and the user cannot log in; a second delete is a 404.
func TestAdminDeleteUserCLI(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	const ada = "ada@example.test"
	e.CreateUser(ada)
	b := NewBrowser(t)
	e.PortalLogin(b, ada, Password)
	tok := e.Tokens(b, "app", e.RP+"/app-cb", "openid offline_access")
	addr := []string{"--address", e.AdminAddr}
	if _, err := runCLI(t, "", append([]string{"user", "delete", ada}, addr...)...); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("delete without --yes: %v", err)
	}
	if r := e.APILogin(ada, Password); r.Status != http.StatusOK {
		t.Fatalf("login after a refused delete: %s", r)
	}
	if out, err := runCLI(t, "", append([]string{"user", "delete", "--yes", ada}, addr...)...); err != nil {
		t.Fatalf("delete --yes: %v\n%s", err, out)
	}
	if rr := e.Refresh("app", tok["refresh_token"].(string)); rr.Status != http.StatusBadRequest {
		t.Errorf("refresh token after delete: %s", rr)
	}
	if r := e.APILogin(ada, Password); r.Status != http.StatusUnauthorized {
		t.Errorf("login after delete: %s, want 401", r)
	}
	if _, err := runCLI(t, "", append([]string{"user", "delete", "--yes", ada}, addr...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("second delete: %v, want 404", err)
	}
}
