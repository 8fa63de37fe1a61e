package oidc

import (
	"encoding/base32"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// OIDC Core §3.1.2.1 acr_values: a user whose second factor is an authenticator app, with a
// password session (aal1), is sent to the second-factor page (step-up) for acr_values=aal2,
// not given a code nor the "set up a second factor" page; after the app's code (session amr
// pwd otp mfa) the ID token says acr aal2 and amr otp.
func TestAuthenticatorAppMeetsAAL2(t *testing.T) {
	e := newEnv(t)
	s := e.Session(sessions.Meta{})
	en, err := e.P.TOTP.BeginEnrol(e.Ctx, s, e.User)
	if err != nil {
		t.Fatal(err)
	}
	raw := secretFromKey(t, en.Key)
	c, _ := totp.Code(raw, e.Clock.Now().Unix()/totp.Period)
	if _, err := e.P.TOTP.ConfirmEnrol(e.Ctx, s, e.User, en.Token, c); err != nil {
		t.Fatal(err)
	}
	v, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("acr_values", "aal2")
	w := e.do(e.loggedIn(PathAuthorize + "?" + q.Encode()))
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || !strings.HasPrefix(loc, "/login/mfa?return_to=") {
		t.Fatalf("aal1 session of an app user: %d %q, want the step-up page\n%s", w.Code, loc, w.Body)
	}
	secret, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd", "otp", "mfa"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, PathAuthorize+"?"+q.Encode(), nil)
	if err := e.cookie.Issue(rec, r, secret); err != nil {
		t.Fatal(err)
	}
	r = httptest.NewRequest(http.MethodGet, PathAuthorize+"?"+q.Encode(), nil)
	for _, ck := range rec.Result().Cookies() {
		r.AddCookie(ck)
	}
	code := redirectParams(t, e.do(r)).Get("code")
	tok := decode(t, e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {idptest.WebCB}, "code_verifier": {v}}, "web", idptest.WebSecret))
	claims, err := e.P.Verifier.VerifyIDToken(tok["id_token"].(string), false)
	if err != nil {
		t.Fatal(err)
	}
	var amr []string
	for _, a := range claims["amr"].([]any) {
		amr = append(amr, a.(string))
	}
	if claims["acr"] != "aal2" || !slices.Contains(amr, "otp") || !slices.Contains(amr, "mfa") {
		t.Fatalf("ID token acr %v amr %v, want aal2 with otp and mfa", claims["acr"], amr)
	}
}

func secretFromKey(t *testing.T, key string) []byte {
	t.Helper()
	raw, err := totpKey(strings.ReplaceAll(key, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func totpKey(b32 string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b32)
}
