package oauth_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// TestWantsMultiFactor — OIDC Core §3.1.2.1 (acr_values: a voluntary preference, the OP may
// answer with a lower acr) and §5.5.1.1 (an essential acr claim with values: the acr returned
// MUST match one of them, or the authentication fails): which requests ask for aal2, and
// which of them insist on it.
func TestWantsMultiFactor(t *testing.T) {
	e := idptest.New(t)
	_, ch := idptest.PKCE()
	for _, c := range []struct {
		acrValues, claims string
		want, essential   bool
	}{
		{"", "", false, false},
		{"aal2", "", true, false},
		{"aal2 aal1", "", true, false},
		{"aal1 aal2", "", false, false},
		{"", `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`, true, true},
		{"", `{"id_token":{"acr":{"essential":true,"value":"aal2"}}}`, true, true},
		{"aal2", `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`, true, true},
		{"", `{"id_token":{"acr":{"essential":true,"values":["aal2","aal1"]}}}`, false, false},
		{"aal2", `{"id_token":{"acr":{"values":["aal2"]}}}`, true, false},
		{"", `{"userinfo":{"acr":{"essential":true,"values":["aal2"]}}}`, false, false},
	} {
		q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
		if c.acrValues != "" {
			q.Set("acr_values", c.acrValues)
		}
		if c.claims != "" {
			q.Set("claims", c.claims)
		}
		req, _, oerr := e.P.ParseAuthRequest(e.Ctx, q)
		if oerr != nil {
			t.Fatalf("%+v: %v", c, oerr)
		}
		if want, essential := req.WantsMultiFactor(); want != c.want || essential != c.essential {
			t.Errorf("acr_values %q claims %s: WantsMultiFactor = %v, %v; want %v, %v", c.acrValues, c.claims, want, essential, c.want, c.essential)
		}
	}
}

// TestEssentialACRMatchesRequestedValue — OIDC Core §5.5.1.1: "the Authorization Server
// MUST return an acr Claim Value that matches one of the requested values". A multi-factor
// session (aal2) answering an essential request for aal1 only meets it, and says aal1 in the
// ID token and the access token; its amr still tells how the user logged in. Without an
// essential acr, or when the session's own level is listed, the session's level is said.
func TestEssentialACRMatchesRequestedValue(t *testing.T) {
	e := idptest.New(t)
	_, mfa, err := e.P.Sessions.Start(e.Ctx, e.User, []string{login.AMRPassword, login.AMRWebAuthn, login.AMRMFA}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if mfa.ACR != login.ACRMultiFactor {
		t.Fatalf("password + passkey session acr = %q", mfa.ACR)
	}
	for _, c := range []struct{ claims, want string }{
		{`{"id_token":{"acr":{"essential":true,"values":["aal1"]}}}`, "aal1"},
		{`{"id_token":{"acr":{"essential":true,"value":"aal1"}}}`, "aal1"},
		{`{"id_token":{"acr":{"essential":true,"values":["aal1","aal2"]}}}`, "aal2"},
		{`{"id_token":{"acr":{"values":["aal1"]}}}`, "aal2"},
		{"", "aal2"},
	} {
		v, ch := idptest.PKCE()
		q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
		if c.claims != "" {
			q.Set("claims", c.claims)
		}
		code, _ := e.Code(q, mfa)
		resp, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
		if oerr != nil {
			t.Fatalf("%s: ExchangeCode: %v", c.claims, oerr)
		}
		idc, err := e.P.Verifier.VerifyIDToken(resp.IDToken, false)
		if err != nil {
			t.Fatalf("%s: ID token: %v", c.claims, err)
		}
		if idc["acr"] != c.want || resp.Claims.ACR != c.want {
			t.Errorf("claims %s: ID token acr %v, access token acr %q; want %s", c.claims, idc["acr"], resp.Claims.ACR, c.want)
		}
	}
}
