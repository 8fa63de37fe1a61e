package account

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// profileEnv mounts the account handler with these editable fields and deletion on or off.
func profileEnv(t *testing.T, editable []string, allowDelete bool) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t)
	e.Mount(&Handler{Kit: e.Kit, Accounts: e.P.Accounts, Verification: e.P.Verification, Passkeys: e.P.Passkey, Identities: e.P.Social,
		Apps: e.P.OAuth, UserSessions: e.P.Sessions, TOTP: e.P.TOTP, RecoveryCodes: e.P.RecoveryCodes, Factors: e.P.MFA,
		AppCredentials: e.P.AppCredentials, EditableFields: editable, AllowDelete: allowDelete})
	return e
}

// jwtClaims reads the payload of a token the provider just issued (not verified: it came
// straight from the provider).
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func storedUser(t *testing.T, e *portaltest.Env) store.User {
	t.Helper()
	u, err := e.Store.GetUser(e.Ctx, e.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Issue 16: "The user can edit their name and other profile fields the operator allows":
// through the account page's form and PATCH /api/v1/account/profile; the page shows only the
// allowed fields, and the next ID token carries the new name.
func TestProfileEditAllowedFields(t *testing.T) {
	e := profileEnv(t, []string{"fname", "lname", "birthday"}, false)
	b := e.Browser()
	b.LogIn()
	page := section(b.Get("/").Body, "Profile")
	if !strings.Contains(page, `name="fname"`) || !strings.Contains(page, `name="birthday"`) || strings.Contains(page, `name="username"`) ||
		strings.Contains(page, `name="email"`) {
		t.Fatalf("profile section shows other fields than fname, lname, birthday:\n%s", page)
	}
	r := b.PostForm("/account/profile", url.Values{"fname": {"Ada"}, "lname": {"Lovelace"}, "birthday": {"1815-12-10"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("form: %d %s", r.StatusCode, r.Body)
	}
	if u := storedUser(t, e); u.FirstName != "Ada" || u.LastName != "Lovelace" || u.Birthday != "1815-12-10" {
		t.Fatalf("stored after the form: %q %q %q", u.FirstName, u.LastName, u.Birthday)
	}
	r = b.SendJSON("PATCH", "/api/v1/account/profile", map[string]string{"fname": "Augusta"})
	var got struct {
		Editable []string       `json:"editable"`
		Profile  map[string]any `json:"profile"`
	}
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || got.Profile["fname"] != "Augusta" || got.Profile["lname"] != "Lovelace" || len(got.Editable) != 3 {
		t.Fatalf("PATCH: %d %s", r.StatusCode, r.Body)
	}
	tok, _ := e.Tokens("openid", "profile")
	claims := jwtClaims(t, tok.IDToken)
	if claims["given_name"] != "Augusta" || claims["family_name"] != "Lovelace" {
		t.Fatalf("ID token after the edit: given_name %v family_name %v", claims["given_name"], claims["family_name"])
	}
}

// A field the operator does not allow, an address (changed only by verification), an
// unknown field and an invalid value are each refused with a message naming the field, and
// nothing of the request is written.
func TestProfileEditRefused(t *testing.T) {
	e := profileEnv(t, []string{"fname", "birthday"}, false)
	b := e.Browser()
	b.LogIn()
	before := storedUser(t, e)
	for _, c := range []struct {
		body       map[string]string
		field, msg string
	}{
		{map[string]string{"fname": "X", "username": "ada"}, "username", "username cannot be changed here"},
		{map[string]string{"email": "new@example.com"}, "email", "email changes only through verification"},
		{map[string]string{"phone_number": "+14155550123"}, "phone_number", "phone_number changes only through verification"},
		{map[string]string{"nickname": "a"}, "nickname", `unknown field "nickname"`},
		{map[string]string{"fname": "X", "birthday": "10/12/1815"}, "birthday", "use YYYY-MM-DD"},
		{map[string]string{"fname": "bad\x00name"}, "fname", ""},
	} {
		r := b.SendJSON("PATCH", "/api/v1/account/profile", c.body)
		got := r.APIError(t)
		if r.StatusCode != http.StatusBadRequest || got.Error != "invalid_input" || got.Field != c.field || !strings.Contains(got.Message, c.msg) {
			t.Errorf("PATCH %v: %d %s, want 400 invalid_input naming %s (%q)", c.body, r.StatusCode, r.Body, c.field, c.msg)
		}
	}
	if r := b.SendJSON("PATCH", "/api/v1/account/profile", `{"fname": 5}`); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a number for fname: %d", r.StatusCode)
	}
	// The page form says the same above the page.
	r := b.PostForm("/account/profile", url.Values{"fname": {"Y"}, "email": {"new@example.com"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "Email changes only through verification") {
		t.Errorf("form with email: %d\n%s", r.StatusCode, r.Body)
	}
	after := storedUser(t, e)
	if after.FirstName != before.FirstName || after.Email != before.Email || after.Username != "" || after.Birthday != "" {
		t.Fatalf("a refused edit was written: %+v", after)
	}
}

// PX-24: the profile and deletion forms need the CSRF token, and the JSON API refuses a
// request another site sent (Sec-Fetch-Site: cross-site); nothing changes.
func TestPX24_ProfileAndDeleteRefuseCrossSite(t *testing.T) {
	e := profileEnv(t, []string{"fname"}, true)
	b := e.Browser()
	b.LogIn()
	if r := b.PostForm("/account/profile", url.Values{"fname": {"Mallory"}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("profile form without CSRF token: %d", r.StatusCode)
	}
	if r := b.PostForm("/account/delete", url.Values{"confirm": {"DELETE"}, "csrf_token": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delete form with a forged CSRF token: %d", r.StatusCode)
	}
	b.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := b.SendJSON("PATCH", "/api/v1/account/profile", map[string]string{"fname": "Mallory"}); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site PATCH: %d", r.StatusCode)
	}
	if r := b.SendJSON("DELETE", "/api/v1/account", map[string]string{"confirm": "DELETE"}); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site DELETE: %d", r.StatusCode)
	}
	if u := storedUser(t, e); u.FirstName == "Mallory" {
		t.Fatal("a cross-site edit was written")
	}
}

// CR-19: deleting the account needs a login from the last sessions.FreshLogin; an older
// one is refused (the page says to log in again, the API answers 403 reauthenticate) and
// the account stays. A confirmation that is neither the email address nor DELETE is refused.
func TestCR19_DeleteNeedsFreshLoginAndConfirmation(t *testing.T) {
	e := profileEnv(t, nil, true)
	b := e.Browser()
	b.LogIn()
	if r := b.PostForm("/account/delete", url.Values{"confirm": {"delete please"}}); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Body, "type your email address or the word DELETE") {
		t.Errorf("wrong confirmation: %d\n%s", r.StatusCode, r.Body)
	}
	r := b.SendJSON("DELETE", "/api/v1/account", map[string]string{"confirm": "someone@else.example"})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "confirm_mismatch" || got.Field != "confirm" {
		t.Errorf("API wrong confirmation: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(sessions.FreshLogin + time.Second)
	page := section(b.Get("/").Body, "Delete my account")
	if !strings.Contains(page, "log in again") || strings.Contains(page, `action="/account/delete"`) {
		t.Errorf("stale login: the section offers the form\n%s", page)
	}
	if r := b.PostForm("/account/delete", url.Values{"confirm": {"DELETE"}}); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "Log in again to delete your account") {
		t.Errorf("stale login, form: %d\n%s", r.StatusCode, r.Body)
	}
	r = b.SendJSON("DELETE", "/api/v1/account", map[string]string{"confirm": "DELETE"})
	if got := r.APIError(t); r.StatusCode != http.StatusForbidden || got.Error != "reauthenticate" {
		t.Errorf("stale login, API: %d %s", r.StatusCode, r.Body)
	}
	storedUser(t, e) // still there
}

// Issue 16: deletion is "the same complete removal as the admin's delete": the user,
// password, sessions (the old cookie stops working), refresh tokens (offline ones too),
// passkeys, identities, second factors, app credentials and consents are gone from the
// store, and the user lands on a page saying the account is gone.
func TestDeleteRemovesEverything(t *testing.T) {
	e := profileEnv(t, nil, true)
	b := e.Browser()
	b.LogIn()
	uid := e.User.ID
	tok, _ := e.Tokens("openid", "offline_access")
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	e.AddPasskey("laptop")
	ctx := e.Ctx
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Store.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "42", UserID: uid, CreatedAt: e.Clock.Now()}))
	must(e.Store.CreateSecondFactor(ctx, store.SecondFactor{UserID: uid, TOTPSecret: "sealed", TOTPAddedAt: e.Clock.Now()}))
	must(e.Store.PutConsent(ctx, store.Consent{UserID: uid, ClientID: "partner", Scopes: []string{"openid"}, GrantedAt: e.Clock.Now()}))
	must(e.Store.CreateAppCredential(ctx, store.AppCredential{ID: secret.New(8), UserID: uid, Kind: store.CredentialPAT, Name: "ci",
		CreatedAt: e.Clock.Now(), ExpiresAt: e.Clock.Now().Add(time.Hour)}))
	counters := []string{recoverycode.LimitKey(uid), lockout.AccountKey(e.User.Email)}
	for _, k := range counters {
		if _, _, err := e.Store.IncrementCounter(ctx, k, 2, time.Hour, e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	cookie := b.CookieValue("session")

	r := b.PostForm("/account/delete", url.Values{"confirm": {" " + strings.ToUpper(e.User.Email) + " "}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Your account has been deleted") {
		t.Fatalf("delete: %d\n%s", r.StatusCode, r.Body)
	}
	if _, err := e.Store.GetUser(ctx, uid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user: %v", err)
	}
	if _, err := e.Store.GetUserByEmail(ctx, e.User.Email); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("email index: %v", err)
	}
	if l, _ := e.Store.ListUserSessions(ctx, uid); len(l) != 0 {
		t.Errorf("sessions left: %d", len(l))
	}
	if l, _ := e.Store.ListUserPasskeys(ctx, uid); len(l) != 0 {
		t.Errorf("passkeys left: %d", len(l))
	}
	if l, _ := e.Store.ListUserIdentities(ctx, uid); len(l) != 0 {
		t.Errorf("identities left: %d", len(l))
	}
	if _, err := e.Store.GetSecondFactor(ctx, uid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second factor: %v", err)
	}
	if l, _ := e.Store.ListUserConsents(ctx, uid); len(l) != 0 {
		t.Errorf("consents left: %d", len(l))
	}
	if l, _ := e.Store.ListUserAppCredentials(ctx, uid); len(l) != 0 {
		t.Errorf("app credentials left: %d", len(l))
	}
	if _, err := e.Store.GetPassword(ctx, uid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("password: %v", err)
	}
	for _, k := range counters {
		if n, _, _ := e.Store.GetCounter(ctx, k, e.Clock.Now()); n != 0 {
			t.Errorf("counter %s left: %d", k, n)
		}
	}
	if _, oerr := e.P.RefreshGrant(ctx, e.Web, tok.RefreshToken, ""); oerr == nil {
		t.Error("the offline refresh token still works")
	}
	// The old session cookie leads to the login page.
	b.SetCookie("session", cookie)
	if r := b.Get("/"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("old cookie: %d %q", r.StatusCode, r.Location())
	}
}

// The API deletes too (204), with the user's email as confirmation.
func TestDeleteThroughAPI(t *testing.T) {
	e := profileEnv(t, nil, true)
	b := e.Browser()
	b.LogIn()
	if r := b.SendJSON("DELETE", "/api/v1/account", map[string]string{"confirm": e.User.Email}); r.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.StatusCode, r.Body)
	}
	if _, err := e.Store.GetUser(e.Ctx, e.User.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user: %v", err)
	}
	if r := b.Get("/api/v1/account/profile"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after deletion: %d", r.StatusCode)
	}
}

// Without account.allow_delete (the default) the section is absent and both endpoints
// answer 404; the account stays.
func TestDeleteRefusedWhenOff(t *testing.T) {
	e := profileEnv(t, []string{"fname"}, false)
	b := e.Browser()
	b.LogIn()
	if body := b.Get("/").Body; strings.Contains(body, "Delete my account") || strings.Contains(body, "/account/delete") {
		t.Errorf("deletion off: the page offers it")
	}
	if r := b.PostForm("/account/delete", url.Values{"confirm": {"DELETE"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("form: %d", r.StatusCode)
	}
	if r := b.SendJSON("DELETE", "/api/v1/account", map[string]string{"confirm": "DELETE"}); r.StatusCode != http.StatusNotFound {
		t.Errorf("API: %d", r.StatusCode)
	}
	storedUser(t, e)
	// With no editable field the profile section is absent and every field is refused.
	e2 := profileEnv(t, []string{}, false)
	b2 := e2.Browser()
	b2.LogIn()
	if section(b2.Get("/").Body, "Profile") != "" {
		t.Error("no editable field: the profile section is shown")
	}
	if r := b2.SendJSON("PATCH", "/api/v1/account/profile", map[string]string{"fname": "A"}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no editable field: PATCH %d", r.StatusCode)
	}
}
